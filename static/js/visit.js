// The visit form: each member shows only the fields of the outcome chosen, quick-pick dates
// (written day-first, 15/11/2026, whatever the phone's language), GPS only when the canvasser
// ticks the box.
document.addEventListener("click", function (event) {
  var pick = event.target.closest(".pick");
  if (!pick) return;
  var input = document.getElementById(pick.dataset.target);
  if (input) input.value = pick.dataset.date;
});

document.addEventListener("change", function (event) {
  var radio = event.target;
  if (!radio.matches('.person-outcome input[type="radio"]')) return;
  var set = radio.closest(".person-outcome");
  // No focus moved to the date field: the phone's keyboard would cover the quick picks.
  set.dataset.outcome = radio.value;
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
  var FOLLOW_UP = { promised: true, considering: true };
  var FORM_WAIT_MS = 8000;
  // 15/11/2026 (as typed or picked) → 2026-11-15 for the sync API; anything else is sent as typed
  // and refused by the server with the field named, like on the plain form.
  function isoDay(value) {
    var m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(value || "");
    if (!m) return text((value || "").trim());
    function two(n) { return (n.length < 2 ? "0" : "") + n; }
    return m[3] + "-" + two(m[2]) + "-" + two(m[1]);
  }

  function visitFrom(f, nobodyHome) {
    var outcomes = [];
    f.querySelectorAll("fieldset.person-outcome").forEach(function (set) {
      var id = set.dataset.person;
      var chosen = f.querySelector('input[name="outcome_' + id + '"]:checked');
      var outcome = nobodyHome ? "not_home" : chosen && chosen.value;
      if (!outcome) return;
      outcomes.push({
        person_id: Number(id), outcome: outcome,
        follow_up_on: FOLLOW_UP[outcome] ? isoDay(f.elements["date_" + id].value) : null,
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
    var nobodyHome = !!(event.submitter && event.submitter.name === "nobody_home");
    var buttons = form.querySelectorAll('button[type="submit"]');
    buttons.forEach(function (b) { b.disabled = true; });
    function plainSubmit() {
      if (nobodyHome) {
        var flag = document.createElement("input");
        flag.type = "hidden"; flag.name = "nobody_home"; flag.value = "1";
        form.appendChild(flag);
      }
      form.submit();
    }
    var visit = visitFrom(form, nobodyHome);
    Outbox.add(visit, form.dataset.label).then(function () {
      // Weak signal never freezes the form: past FORM_WAIT_MS the visit is safe in the outbox,
      // and the canvasser moves on with the same message as offline.
      return Promise.race([Outbox.send(), new Promise(function (resolve) {
        setTimeout(resolve, FORM_WAIT_MS);
      })]);
    }).then(function () {
      return Outbox.all();
    }).then(function (rows) {
      var row = rows.filter(function (r) { return r.client_uuid === visit.client_uuid; })[0];
      if (!row) return leave(form.dataset.saved);
      if (row.state === "rejected") {
        // The server says what is wrong, field by field, on the usual form.
        return Outbox.remove(row.client_uuid).then(plainSubmit);
      }
      leave(form.dataset.queued);
    }).catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      plainSubmit(); // IndexedDB unavailable (private mode): the plain form still works online
    });
  });
})();
