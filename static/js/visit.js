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
