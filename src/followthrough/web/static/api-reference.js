// The API reference (/docs): Swagger UI, served from /static/vendor like every other asset, so
// the page works without internet and under a policy that allows no inline script.
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    window.SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      // No call to the public validator service: the description is checked by the tests.
      validatorUrl: null,
    });
  });
})();
