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

// On a phone, wide tables and code scroll sideways inside the page (fenrun.css). A region that
// scrolls must be reachable from the keyboard, or its hidden columns are out of reach without a
// pointer: each one that actually overflows gets a tab stop (arrow keys then scroll it). Again
// after htmx swaps content in (the contract's live preview) and when the screen turns.
function focusScrollingRegions(root) {
  root.querySelectorAll("main table, main pre").forEach((element) => {
    if (element.scrollWidth > element.clientWidth && !element.hasAttribute("tabindex")) {
      element.tabIndex = 0;
    }
  });
}
document.addEventListener("DOMContentLoaded", () => focusScrollingRegions(document));
document.addEventListener("htmx:afterSettle", (event) => focusScrollingRegions(event.target));
window.addEventListener("resize", () => focusScrollingRegions(document));
