// The store's Handoff page: counts down to the next store code and fetches it from the API when it
// comes. (The pickups section refreshes itself through live.js: every 5 s while a driver is on site, every
// minute otherwise.) Without this script the page shows the code of when it loaded, which works 5 minutes
// after it changes.
(function () {
  "use strict";
  const card = document.querySelector("[data-handoff-code]");
  if (!card) return;

  // The server's clock minus this screen's, so a wrong clock at the counter does not shift the countdown.
  const skew = Number(card.dataset.serverNow) * 1000 - Date.now();
  const now = () => Date.now() + skew;
  const clock = new Intl.DateTimeFormat("en-US", { timeZone: card.dataset.timezone, hour: "numeric", minute: "2-digit" });
  const code = card.querySelector("[data-code]");
  const countdown = card.querySelector("[data-countdown]");
  const changesAt = card.querySelector("[data-changes-at]");
  const problem = card.querySelector("[data-code-problem]");
  let validUntil = Number(card.dataset.validUntil) * 1000;
  let acceptedUntil = Number(card.dataset.acceptedUntil) * 1000;
  let fetching = false;

  card.querySelector("[data-reload-hint]").hidden = true;

  function say(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  function tick() {
    const left = Math.max(0, Math.ceil((validUntil - now()) / 1000));
    countdown.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    code.classList.toggle("stale", now() >= acceptedUntil);
    if (now() >= acceptedUntil) say("This code no longer works and the new one could not be fetched: reload the page.");
    if (left === 0 && !fetching) newCode();
  }

  async function newCode() {
    fetching = true;
    let retry = 5000;
    try {
      const response = await fetch(card.dataset.api, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (response.status === 401 || response.status === 403) {
        say("You were logged out: reload the page and log in to see the new code.");
        retry = 60000;
      } else if (response.ok) {
        const body = await response.json();
        const until = Date.parse(body.valid_until);
        if (until > validUntil) {
          code.textContent = body.code;
          validUntil = until;
          acceptedUntil = Date.parse(body.accepted_until);
          changesAt.textContent = clock.format(new Date(validUntil));
          say("");
          retry = 0;
        } else {
          retry = 1000; // asked a moment too early: the server still shows the same code
        }
      } else {
        say("The new code could not be fetched; the code shown still works for 5 minutes. Trying again…");
      }
    } catch (error) {
      say("No connection: the code shown still works for 5 minutes after it changed. Trying again…");
    }
    if (retry) setTimeout(() => (fetching = false), retry);
    else fetching = false;
  }

  tick();
  setInterval(tick, 1000);
})();
