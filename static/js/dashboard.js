// The dashboard: keeps "in 1 h 5 min" of the next pickup current without a reload. Without this
// script the page shows the time left when it loaded, next to the pickup's local start time.
(function () {
  "use strict";
  const countdowns = document.querySelectorAll("[data-countdown-to]");
  if (!countdowns.length) return;
  // The server's clock minus this screen's (data-server-now: when the page was made), so a wrong clock
  // does not shift the countdown.
  const serverNow = Number(countdowns[0].dataset.serverNow) * 1000;
  const offset = serverNow ? serverNow - Date.now() : 0;

  function span(ms) {
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return "less than a minute";
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    if (hours < 24) return rest ? `${hours} h ${rest} min` : `${hours} h`;
    const days = Math.round(hours / 24);
    return `${days} day${days === 1 ? "" : "s"}`;
  }

  function tick() {
    const now = Date.now() + offset;
    countdowns.forEach((element) => {
      const at = Number(element.dataset.countdownTo) * 1000;
      element.textContent = at >= now ? `in ${span(at - now)}` : `started ${span(now - at)} ago`;
    });
  }

  tick();
  setInterval(tick, 30000);
})();
