// The visit form: quick-pick dates and GPS only when the canvasser ticks the box.
document.addEventListener("click", function (event) {
  var pick = event.target.closest(".pick");
  if (!pick) return;
  var input = document.getElementById(pick.dataset.target);
  if (input) input.value = pick.dataset.date;
});

document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches("[data-gps]")) return;
  var form = box.form;
  function set(name, value) { form.elements[name].value = value; }
  if (!box.checked || !navigator.geolocation) {
    set("latitude", ""); set("longitude", ""); set("accuracy", "");
    return;
  }
  navigator.geolocation.getCurrentPosition(function (pos) {
    set("latitude", pos.coords.latitude.toFixed(6));
    set("longitude", pos.coords.longitude.toFixed(6));
    set("accuracy", Math.round(pos.coords.accuracy));
  }, function () { box.checked = false; }, { enableHighAccuracy: true, timeout: 15000 });
});

// Saving a visit goes through the outbox (outbox.js): the visit is on the phone before anything is
// sent, then sent at once when there is signal. Stored → back to the list; no signal → back to the
// (cached) list with "saved on the phone"; refused by the server → the form is submitted the usual
// way, so the server shows what to fix next to each field.
(function () {
  "use strict";
  var form = document.querySelector("form.visit-form");
  if (!form || !window.Outbox || !window.indexedDB) return;
  // A form kept for offline use must not reuse the UUID it was served with.
  form.elements.client_uuid.value = Outbox.uuid4();

  function number(value) {
    var digits = String(value || "").replace(/[^\d]/g, "");
    return digits ? Number(digits) : null;
  }
  function decimal(value) { return value === "" ? null : Number(value); }
  function text(value) { return value ? value : null; }

  function visitFrom(f) {
    var outcomes = [];
    f.querySelectorAll("fieldset.person-outcome").forEach(function (set) {
      var id = set.dataset.person;
      var chosen = f.querySelector('input[name="outcome_' + id + '"]:checked');
      if (!chosen || !chosen.value) return;
      outcomes.push({
        person_id: Number(id), outcome: chosen.value,
        follow_up_on: text(f.elements["date_" + id].value),
        refusal_reason: text(f.elements["reason_" + id].value),
        months_paid: number(f.elements["months_" + id].value),
        amount: number(f.elements["amount_" + id].value),
        receipt_number: text(f.elements["receipt_" + id].value.trim())
      });
    });
    var channel = f.querySelector('input[name="channel"]:checked');
    return {
      client_uuid: f.elements.client_uuid.value,
      household_id: Number(f.dataset.household),
      channel: channel ? channel.value : "",
      visited_at: new Date().toISOString(),
      note: f.elements.note.value,
      latitude: decimal(f.elements.latitude.value),
      longitude: decimal(f.elements.longitude.value),
      accuracy_m: decimal(f.elements.accuracy.value),
      scope_token: f.elements.scope_token ? f.elements.scope_token.value : null,
      outcomes: outcomes
    };
  }

  function leave(message) {
    sessionStorage.setItem("flash", message);
    window.location.href = form.dataset.next || "/worklist";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    var visit = visitFrom(form);
    Outbox.add(visit, form.dataset.label).then(function () {
      return Outbox.send();
    }).then(function () {
      return Outbox.all();
    }).then(function (rows) {
      var row = rows.filter(function (r) { return r.client_uuid === visit.client_uuid; })[0];
      if (!row) return leave(form.dataset.saved);
      if (row.state === "rejected") {
        // The server says what is wrong, field by field, on the usual form.
        return Outbox.remove(row.client_uuid).then(function () { form.submit(); });
      }
      leave(form.dataset.queued);
    }).catch(function () {
      button.disabled = false;
      form.submit(); // IndexedDB unavailable (private mode): the plain form still works online
    });
  });
})();
