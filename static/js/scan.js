// The driver's scan pages (collecting at a counter, returning to one): each scan is sent to the API at
// once and answered in place (no reload).
// A keyboard-wedge scanner types the label and presses Enter, which submits the form; the camera
// button uses the browser's BarcodeDetector where there is one. Without this script the form posts
// to the portal, which answers the same way with a page reload.
(function () {
  "use strict";
  const csrf = () => document.querySelector("input[name=csrfmiddlewaretoken]").value;

  function say(form, text, ok) {
    const item = document.createElement("li");
    item.className = ok ? "ok" : "bad";
    item.textContent = text;
    const list = form.querySelector(".scan-results");
    list.prepend(item);
    while (list.children.length > 4) list.lastElementChild.remove();
  }

  const DONE = ["collected", "already_collected", "returned", "already_returned"];

  function markDone(form, label) {
    const row = document.querySelector(`.parcel[data-label="${CSS.escape(label)}"]`);
    if (row) {
      row.classList.add("done");
      row.querySelector(".state").textContent = form.dataset.doneWord || "Collected";
    }
    const stop = form.closest(".stop");
    stop.querySelector("[data-collected]").textContent = stop.querySelectorAll(".parcel.done").length;
  }

  async function send(form, label) {
    const code = form.querySelector(".code-input");
    if (!code.value.trim()) {
      say(form, "Enter the store's code first: ask at the counter.", false);
      code.focus();
      return;
    }
    let response;
    try {
      response = await fetch(form.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        body: JSON.stringify({ store: Number(form.dataset.store), store_code: code.value.trim(), label_codes: [label] }),
      });
    } catch (error) {
      say(form, `${label}: no connection, nothing was recorded. Scan it again.`, false);
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const words = body.detail || Object.values(body).flat().join(" ") || `Error ${response.status}`;
      say(form, `${label}: ${words}`, false);
      if (response.status === 403 || response.status === 429) code.select();
      return;
    }
    for (const scan of body.results) {
      const done = DONE.includes(scan.result);
      say(form, `${scan.label_code}: ${scan.message}`, done);
      if (done) markDone(form, scan.label_code);
    }
    if (body.window_status === "completed") {
      say(form, "Every parcel collected: the visit is over.", true);
      setTimeout(() => window.location.assign(form.dataset.home), 1500);
    }
  }

  async function startCamera(form) {
    const video = form.querySelector(".camera-view");
    const detector = new window.BarcodeDetector({ formats: ["code_128", "qr_code"] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    let last = "";
    const tick = async () => {
      if (video.hidden) return stream.getTracks().forEach((track) => track.stop());
      const codes = await detector.detect(video).catch(() => []);
      const found = codes.length ? codes[0].rawValue.trim().toUpperCase() : "";
      if (found && found !== last) {
        last = found;
        await send(form, found);
      }
      setTimeout(tick, 300);
    };
    tick();
  }

  for (const form of document.querySelectorAll("form.scan")) {
    const input = form.querySelector(".label-input");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const label = input.value.trim().toUpperCase();
      input.value = "";
      input.focus();
      if (label) send(form, label);
    });
    const camera = form.querySelector(".camera");
    if ("BarcodeDetector" in window && navigator.mediaDevices) {
      camera.hidden = false;
      camera.addEventListener("click", () => {
        const video = form.querySelector(".camera-view");
        if (!video.hidden) {
          video.hidden = true;
          camera.textContent = "Scan with camera";
          return;
        }
        camera.textContent = "Stop the camera";
        startCamera(form).catch(() => say(form, "The camera is not available: type or scan the label.", false));
      });
    }
  }
})();
