/* Mall Pickup delivery promise for a shop's own pages:
   <script src="https://PORTAL/embed/promise.js" data-key="mpk_pub_..." data-store="12"></script>
   Optional: data-zip="85226" (ask at once), data-service="two_day" (same_day by default).
   Renders where the tag stands, inside a shadow root (its styles stay in, the page's stay out), and after
   each quote fires "mallpickup:quote" on document and on its <mallpickup-promise> element, with detail.quoteId
   for the order (POST /api/v1/orders/ with "quote"). Plain JavaScript, no dependencies. */
(function () {
  "use strict";
  var script = document.currentScript;
  var opts = script && script.dataset;
  if (!opts || !opts.key || !opts.store) {
    console.warn("Mall Pickup: the promise script needs data-key and data-store.");
    return;
  }
  if (opts.key.indexOf("mpk_pub_") !== 0) {
    console.error("Mall Pickup: data-key must be a publishable key (mpk_pub_...). Never put a secret key in a page.");
    return;
  }
  var EVENT = "mallpickup:quote";
  var ZIP = /^\d{5}(-\d{4})?$/;
  var api = new URL("/api/v1/quotes/", script.src).href;
  var skew = 0; // the portal's clock minus this browser's, from the Date header
  var quote = null;
  var busy = false;
  var asked = "";

  function h(tag, attrs, kids) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (kids || []).forEach(function (kid) { node.append(kid); });
    return node;
  }
  function now() { return Date.now() + skew; }
  function text(node, value) { if (node.textContent !== value) node.textContent = value; }

  var host = h("mallpickup-promise");
  script.after(host);
  var root = host.attachShadow({ mode: "open" });
  var css =
    ":host{display:block;max-width:26rem;margin:1em 0}" +
    ".w{box-sizing:border-box;border:1px solid #c6ccd5;border-radius:8px;padding:12px 14px;background:#fff;" +
    "color:#1d2430;font:inherit;line-height:1.4;text-align:left}" +
    "label{display:block;font-weight:600;margin:0 0 4px}" +
    ".r{display:flex;gap:8px}" +
    "input,button{font:inherit;min-height:44px;border-radius:6px;margin:0}" +
    "input{flex:1;min-width:0;padding:6px 10px;border:1px solid #7d8696;background:#fff;color:#1d2430}" +
    "button{padding:6px 16px;border:0;background:#1d5c3f;color:#fff;font-weight:600;cursor:pointer}" +
    "input:focus-visible,button:focus-visible{outline:3px solid #e0a100;outline-offset:2px}" +
    "p{margin:8px 0 0}p:empty{display:none}" +
    ".h{font-weight:700}.no .h{color:#9b1c1c}.d{color:#4a5263;font-size:.92em}" +
    ".c{color:#1d5c3f;font-weight:600}";
  try {
    var sheet = new CSSStyleSheet(); // not an inline <style>: allowed by a host page's strict style-src
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch (error) {
    root.append(h("style", {}, [css]));
  }

  var input = h("input", {
    id: "zip", name: "zip", type: "text", inputmode: "numeric", autocomplete: "postal-code",
    maxlength: "10", "aria-describedby": "out"
  });
  var head = h("p", { class: "h" });
  var detail = h("p", { class: "d" });
  var count = h("p", { class: "c" }); // outside the live region: a screen reader is not told every minute
  var out = h("div", { id: "out", role: "status", "aria-live": "polite" }, [head, detail]);
  var form = h("form", { novalidate: "" }, [
    h("label", { for: "zip" }, ["Delivery ZIP code"]),
    h("div", { class: "r" }, [input, h("button", { type: "submit" }, ["Check"])])
  ]);
  var box = h("section", { class: "w", "aria-label": "Local delivery" }, [form, out, count]);
  root.append(box);

  function show(title, more, refused) {
    box.classList.toggle("no", !!refused);
    text(head, title);
    text(detail, more || "");
  }

  function stop(title, more) {
    quote = null;
    text(count, "");
    show(title, more, true);
  }

  function ask(zip, fresh) {
    zip = zip.trim();
    if (!ZIP.test(zip)) return stop("Check the ZIP code", "Type its 5 digits, e.g. 85226.");
    if (busy || (!fresh && zip === asked && quote && now() < quote.expires)) return;
    busy = true;
    if (zip !== asked || !quote) show("Checking delivery to " + zip + "…");
    asked = zip;
    fetch(api, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { Accept: "application/json", "Content-Type": "application/json", Authorization: "Bearer " + opts.key },
      body: JSON.stringify({ store: +opts.store, service_level: opts.service || "same_day", postal_code: zip })
    })
      .then(function (response) {
        var served = Date.parse(response.headers.get("Date") || "");
        if (served) skew = Math.abs(served - Date.now()) > 5000 ? served - Date.now() : 0;
        return response.json().catch(function () { return {}; }).then(function (body) {
          answer(response.status, body, zip);
        });
      })
      .catch(function () { stop("We couldn't check delivery just now.", "Please try again in a moment."); })
      .then(function () { busy = false; });
  }

  function answer(status, body, zip) {
    if (status === 201) return promise(body, zip);
    if (status === 400 && body.postal_code) return stop("Check the ZIP code", [].concat(body.postal_code)[0]);
    if (status === 429) return stop("Too many checks just now.", "Please try again in a minute.");
    console.warn("Mall Pickup: the delivery promise is unavailable (" + status + ").", body.detail || body);
    stop("Delivery estimate unavailable.");
  }

  function promise(q, zip) {
    quote = {
      id: q.id,
      expires: Date.parse(q.expires_at),
      orderBefore: q.order_before ? Date.parse(q.order_before) : 0
    };
    host.setAttribute("data-quote-id", q.id);
    if (!q.eligible) {
      stop("No local delivery to " + zip, q.reason);
    } else {
      var day = dayName(q.promised_date);
      var leaves = q.earliest_pickup && day === "today" ? "Leaves the store by " + clock(q.earliest_pickup.ends_at) : "";
      show(day === "today" ? "Local delivery today" : "Delivers " + day, leaves);
      tick();
    }
    var detail = {
      quoteId: q.id, eligible: q.eligible, reason: q.reason, store: q.store, serviceLevel: q.service_level,
      postalCode: zip, promisedDate: q.promised_date, orderBefore: q.order_before, expiresAt: q.expires_at
    };
    host.dispatchEvent(new CustomEvent(EVENT, { detail: detail }));
    document.dispatchEvent(new CustomEvent(EVENT, { detail: detail }));
  }

  function dayName(ymd) {
    var part = ymd.split("-");
    var day = new Date(+part[0], part[1] - 1, +part[2]);
    var today = new Date(now());
    var ahead = Math.round((day - new Date(today.getFullYear(), today.getMonth(), today.getDate())) / 864e5);
    if (ahead <= 0) return "today";
    if (ahead === 1) return "tomorrow";
    return day.toLocaleDateString("en-US", ahead < 7 ? { weekday: "long" } : { weekday: "long", month: "long", day: "numeric" });
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" });
  }

  function left(ms) {
    var minutes = Math.floor(ms / 6e4);
    if (minutes < 1) return "minute";
    var hours = Math.floor(minutes / 60);
    return (hours ? hours + " h " : "") + (minutes % 60) + " min";
  }

  // The countdown, and a fresh quote when this one expires or the cutoff passes (not while the tab is hidden).
  function tick() {
    if (!quote || document.hidden) return;
    var t = now();
    if (t >= quote.expires || (quote.orderBefore && t >= quote.orderBefore)) return ask(asked, true);
    text(count, quote.orderBefore ? "Order in the next " + left(quote.orderBefore - t) : "");
  }
  setInterval(tick, 1000);
  document.addEventListener("visibilitychange", tick);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(input.value, false);
  });
  input.addEventListener("input", function () {
    if (/^\d{5}$/.test(input.value.trim())) ask(input.value, false);
  });
  if (opts.zip) {
    input.value = opts.zip;
    ask(opts.zip, false);
  }
})();
