// Send the phone's location with a check-in or a handoff when the driver allows it (a few seconds at
// most), so the ledger knows where it happened; without it, the form is sent all the same.
(function () {
  "use strict";
  if (!navigator.geolocation) return;
  for (const form of document.querySelectorAll("form[data-locate]")) {
    let located = false;
    form.addEventListener("submit", (event) => {
      if (located) return;
      event.preventDefault();
      const submit = () => {
        located = true;
        form.requestSubmit();
      };
      navigator.geolocation.getCurrentPosition(
        (position) => {
          form.elements.latitude.value = position.coords.latitude.toFixed(6);
          form.elements.longitude.value = position.coords.longitude.toFixed(6);
          submit();
        },
        submit,
        { timeout: 5000, maximumAge: 60000 },
      );
    });
  }
})();
