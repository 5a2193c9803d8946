// Live sections: a part of a page that refreshes itself, without a reload, while it waits for something
// (a driver on site at the Handoff counter, a worker scheduling an order). An element with data-live-url is
// refilled from that URL (asked with the header X-Partial: 1) by the section as the server renders it now.
// The section sets the pace: data-live-every="<seconds>" on an element inside it; 0 or none, and the page
// stops asking (the order has settled). An element of the answer with data-live-oob and an id replaces the
// page's element of that id instead (a status badge in the heading). Only what changed is swapped, so an
// aria-live region around the section is read out when something did, not at every look. Nothing is
// asked while the tab is hidden; it is asked at once when it shows again. Without this script the page shows
// what it showed when it loaded, and a reload shows what is new.
(function () {
  "use strict";

  function every(section) {
    const paced = section.querySelector("[data-live-every]");
    const seconds = paced ? Number(paced.dataset.liveEvery) : 0;
    return seconds > 0 ? seconds * 1000 : 0;
  }

  // The same markup, whatever the whitespace between the tags (the page's and the answer's indentation differ).
  function same(a, b) {
    return a.replace(/\s+/g, " ").trim() === b.replace(/\s+/g, " ").trim();
  }

  // Puts the answer in place where it differs from what is shown.
  function apply(section, html) {
    const answer = document.createElement("template");
    answer.innerHTML = html;
    answer.content.querySelectorAll("[data-live-oob][id]").forEach((part) => {
      part.removeAttribute("data-live-oob");
      const target = document.getElementById(part.id);
      if (target && !same(target.outerHTML, part.outerHTML)) target.replaceWith(part);
      else part.remove();
    });
    const fresh = document.createElement("div");
    fresh.append(answer.content);
    if (!same(section.innerHTML, fresh.innerHTML)) section.replaceChildren(...fresh.childNodes);
  }

  function watch(section) {
    let timer = null;
    let asking = false;

    function later(wait) {
      clearTimeout(timer);
      timer = wait ? setTimeout(refresh, wait) : null;
    }

    async function refresh() {
      timer = null;
      if (document.hidden || asking) return; // asked again when the tab shows
      asking = true;
      try {
        const response = await fetch(section.dataset.liveUrl, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { "X-Partial": "1" },
        });
        if (response.redirected || response.status === 403) {
          window.location.reload(); // logged out: the page itself sends them to the login
          return;
        }
        if (response.status === 404) return; // gone, or no longer theirs: nothing more to show
        if (response.ok) apply(section, await response.text());
      } catch (error) {
        // Offline for a moment: keep what is shown and try again.
      } finally {
        asking = false;
      }
      later(every(section));
    }

    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && timer === null && every(section)) refresh();
    });
    later(every(section));
  }

  document.querySelectorAll("[data-live-url]").forEach(watch);
})();
