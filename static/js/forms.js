// The portal's forms: focus the list of problems after a refused submit, so it is read first; and the store form's
// opening-hours presets. Loaded with `defer` from the forms that need it; without it the forms work as before.
(function () {
  "use strict";

  var summary = document.querySelector(".error-summary");
  if (summary) summary.focus();

  // "Same hours every day" and "Copy Monday to weekdays": copy Monday's two times to the other days' fields.
  var presets = document.querySelector("[data-hours-presets]");
  if (!presets) return;
  var status = presets.querySelector("[data-preset-status]");
  var DAYS = {
    "every-day": ["tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    weekdays: ["tuesday", "wednesday", "thursday", "friday"],
  };
  var DONE = { "every-day": "every day", weekdays: "Tuesday to Friday" };

  function field(day, which) {
    return document.getElementById("id_" + day + "_" + which);
  }

  presets.hidden = false;
  presets.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-preset]");
    if (!button) return;
    var opens = field("monday", "opens").value;
    var closes = field("monday", "closes").value;
    if (!opens || !closes) {
      status.textContent = "Give Monday's opening and closing times first.";
      field("monday", opens ? "closes" : "opens").focus();
      return;
    }
    DAYS[button.dataset.preset].forEach(function (day) {
      field(day, "opens").value = opens;
      field(day, "closes").value = closes;
    });
    status.textContent = "Monday's hours (" + opens + " to " + closes + ") copied to " + DONE[button.dataset.preset] + ".";
  });
})();
