// Every htmx request carries the CSRF token from the page's <meta> in a header (Flask-WTF reads X-CSRFToken).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
  }
});

// Quick-pick buttons (data-fill="<input id>") copy their amount into the field and fire its change
// event, so an htmx form recalculates in place. Without htmx they simply submit the form.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-fill]");
  var input = button && document.getElementById(button.getAttribute("data-fill"));
  if (!input || !window.htmx) {
    return;
  }
  event.preventDefault();
  input.value = button.getAttribute("data-text") || button.value;
  input.removeAttribute("aria-invalid");
  input.dispatchEvent(new Event("change", { bubbles: true }));
});

// htmx drops 4xx answers by default; a target marked data-swap-errors shows the 400 fragment (a
// Vietnamese message about the input) in place of the result instead.
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  if (event.detail.xhr.status === 400 && target && target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
