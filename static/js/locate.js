// "I'm here": send the phone's location with the check-in when the driver allows it (a few seconds
// at most), so the portal can tell whether they are at the site; without it, check in all the same.
(function () {
  "use strict";
  const form = document.querySelector("form[data-locate]");
  if (!form || !navigator.geolocation) return;
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
})();
