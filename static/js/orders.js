// The order list's bulk actions (pickups/order_list.html) and their confirmation page. Without this script the
// checkboxes, "Select all N orders matching" and the buttons work as plain form fields; with it:
// - "All on this page" ticks every order of the page, and "Select all N orders matching these filters" is
//   offered only once they are all ticked (unticking one takes it back);
// - the line before the buttons says what they apply to, and a click with nothing ticked says so at once;
// - "Print labels" shows "Preparing N labels…" while the server draws them, instead of a silent wait.
(function () {
  "use strict";

  function preparing(form) {
    // A button with data-preparing says so once its form is sent; {n} is the labels of the ticked orders.
    form.addEventListener("submit", function (event) {
      const button = event.submitter;
      if (!button || !button.dataset.preparing) return;
      if (form.dataset.sent) {
        event.preventDefault(); // already on its way: a second click would draw them twice
        return;
      }
      form.dataset.sent = "true";
      button.dataset.label = button.textContent;
      button.textContent = button.dataset.preparing.replace("{n}", String(labelsTicked(form)));
      button.setAttribute("aria-busy", "true");
      button.classList.add("busy");
    });
    // Back from the PDF (the page restored as it was left): the button reads as before.
    window.addEventListener("pageshow", function () {
      delete form.dataset.sent;
      form.querySelectorAll("button[data-label]").forEach(function (button) {
        button.textContent = button.dataset.label;
        button.removeAttribute("aria-busy");
        button.classList.remove("busy");
      });
    });
  }

  function labelsTicked(form) {
    let labels = 0;
    form.querySelectorAll("input[name=orders]:checked").forEach(function (box) {
      labels += Number(box.dataset.labels || 0);
    });
    return labels;
  }

  document.querySelectorAll("form").forEach(function (form) {
    if (form.querySelector("button[data-preparing]")) preparing(form);
  });

  const form = document.querySelector("form[data-bulk]");
  if (!form) return;
  const boxes = Array.from(form.querySelectorAll("input[name=orders]"));
  const pageAll = form.querySelector("[data-page-all]");
  const selectAll = form.querySelector("[data-select-all]");
  const scope = form.querySelector("[data-scope]");
  const what = form.querySelector("[data-bulk-what]");
  const status = form.querySelector("[data-bulk-status]");
  const matching = scope ? scope.closest("label").textContent.trim() : "";

  if (pageAll && boxes.length) form.querySelector("[data-page-all-label]").hidden = false;

  function update() {
    const ticked = boxes.filter(function (box) { return box.checked; }).length;
    const all = boxes.length > 0 && ticked === boxes.length;
    if (pageAll) {
      pageAll.checked = all;
      pageAll.indeterminate = ticked > 0 && !all;
    }
    if (selectAll) {
      const wasShown = !selectAll.hidden;
      selectAll.hidden = !all;
      if (!all) scope.checked = false;
      if (all && !wasShown) status.textContent = "All " + boxes.length + " orders on this page are ticked. " + matching + "?";
    }
    if (scope && scope.checked) {
      what.textContent = "With all the orders matching these filters:";
    } else {
      what.textContent = ticked ? "With the " + ticked + " ticked order" + (ticked === 1 ? "" : "s") + ":" : "With the ticked orders:";
    }
  }

  form.addEventListener("change", function (event) {
    if (event.target === pageAll) {
      boxes.forEach(function (box) { box.checked = pageAll.checked; });
    }
    update();
    if (event.target === scope) {
      status.textContent = scope.checked ? "All the orders matching these filters are selected." : "Only the ticked orders are selected.";
    }
  });

  // Nothing ticked: say so here, rather than after a round trip.
  form.addEventListener("submit", function (event) {
    const ticked = boxes.some(function (box) { return box.checked; });
    if (ticked || (scope && scope.checked)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    status.textContent = "";
    status.textContent = "Tick at least one order first.";
    what.textContent = "Tick at least one order first, then:";
  }, true);

  update();
})();
