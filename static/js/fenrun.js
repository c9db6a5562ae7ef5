/* Fenrun's behaviour that would otherwise be inline: the Content-Security-Policy allows no inline
   script or handler (script-src 'self'), so pages mark elements with data- attributes and this
   file, loaded from static/, acts on them. */
"use strict";

// The language switch submits itself when a language is chosen (a button shows without script).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-submit-on-change]");
  if (select) select.form.submit();
});

// Inside [data-swap-errors], a refused htmx action (400/404) answers with the row and its
// message: swap it in all the same instead of dropping it.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if ((status === 400 || status === 404) && event.target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
