// The API reference (/docs): Swagger UI, served from /static/vendor like every other asset, so
// the page works without internet and under a policy that allows no inline script.
(function () {
  "use strict";

  // Swagger UI leaves a parameter's value field (an enum's menu, a text box) without a name a
  // screen reader can say; name each after its parameter, as the row shows it.
  function nameParameterFields(root) {
    var fields = root.querySelectorAll(
      "tr[data-param-name] select, tr[data-param-name] input, tr[data-param-name] textarea"
    );
    fields.forEach(function (field) {
      if (field.getAttribute("aria-label") || field.labels && field.labels.length) {
        return;
      }
      var row = field.closest("tr[data-param-name]");
      var where = row.getAttribute("data-param-in");
      field.setAttribute(
        "aria-label",
        row.getAttribute("data-param-name") + (where ? " (" + where + ")" : "")
      );
    });
  }

  // The sign-in dialog: its close button is an icon without a name, and its Authorize buttons
  // carry a name that is not the word they show (WCAG's label in name).
  function nameDialogButtons(root) {
    root.querySelectorAll(".close-modal:not([aria-label])").forEach(function (button) {
      button.setAttribute("aria-label", "Close");
    });
    root.querySelectorAll(".auth-btn-wrapper button[aria-label]").forEach(function (button) {
      var shown = button.textContent.trim();
      if (shown && button.getAttribute("aria-label") !== shown) {
        button.setAttribute("aria-label", shown);
      }
    });
  }

  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    window.SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      // Off: deep links put a link inside each operation's button, which a keyboard or a
      // screen reader cannot reach on its own (a control nested in a control).
      deepLinking: false,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      // No call to the public validator service: the description is checked by the tests.
      validatorUrl: null,
    });
    new MutationObserver(function () {
      nameParameterFields(root);
      nameDialogButtons(document);
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
