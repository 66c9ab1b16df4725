// The browser's time zone and language, sent with sign-in (form[data-guess-clock]) so a person's
// times are shown on their own clock from the first sign-in; the desk stores them only while the
// person has not chosen on their profile. Listened for on the document, so it works after boosted
// navigation too. Without this file sign-in works the same and times stay in UTC.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-guess-clock]")) return;
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { zone = ""; }
    if (form.elements.timezone) form.elements.timezone.value = zone;
    if (form.elements.locale) form.elements.locale.value = navigator.language || "";
  }, true);
})();
