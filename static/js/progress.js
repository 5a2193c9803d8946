// A page that follows work a worker does ([data-progress]: the page's own URL, which answers
// {"status_display", "finished", "percent", "done", "total"} to Accept: application/json). Asks every second,
// moves the bar and the count, and reloads the page for the outcome once the work is finished. Without it the
// page says to reload it.
(function () {
  "use strict";
  const card = document.querySelector("[data-progress]");
  if (!card) return;
  const bar = card.querySelector("[data-progress-bar]");
  const done = card.querySelector("[data-progress-done]");
  const status = card.querySelector("[data-progress-status]");
  const hint = card.querySelector("[data-progress-hint]");
  if (hint) hint.hidden = true;

  async function poll() {
    let wait = 1000;
    try {
      const response = await fetch(card.dataset.progress, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      const state = await response.json(); // a login page (logged out) is no JSON: asked again later
      if (state.finished) {
        window.location.reload();
        return;
      }
      if (bar) bar.value = state.percent;
      if (done) done.textContent = state.done;
      if (status && status.textContent !== state.status_display) status.textContent = state.status_display;
    } catch (error) {
      wait = 5000;
      if (hint) hint.hidden = false;
    }
    setTimeout(poll, wait);
  }
  setTimeout(poll, 1000);
})();
