// Progressive enhancement: everything works without this file.
// 1. Live updates: the request page listens for server-sent events and refreshes its parts.
// 2. Charts on the lead board.
(function () {
  "use strict";
  var source = null;

  function dirty(el) {
    var fields = el.querySelectorAll("textarea, input[type=text], input[type=datetime-local], select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.tagName === "SELECT" ? f.selectedIndex > 0 : f.value && f.value !== f.defaultValue) return true;
    }
    return el.contains(document.activeElement) && document.activeElement !== document.body;
  }

  function refresh(root) {
    return fetch(window.location.pathname, { headers: { "X-Live": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var changed = false;
        doc.querySelectorAll("[data-live][id]").forEach(function (fresh) {
          var old = document.getElementById(fresh.id);
          if (!old) return;
          if (old.hasAttribute("data-live-keep-dirty") && dirty(old)) return;
          if (old.innerHTML === fresh.innerHTML) return;
          old.replaceWith(fresh);
          fresh.classList.add("flash-live");
          if (window.htmx) window.htmx.process(fresh);
          changed = true;
        });
        var note = document.querySelector(".live-note");
        if (note && changed) note.textContent = "Updated just now";
      });
  }

  function listen(root) {
    if (source) { source.close(); source = null; }
    var page = root.querySelector ? root.querySelector("[data-live-url]") : null;
    if (!page || !window.EventSource) return;
    source = new EventSource(page.getAttribute("data-live-url"));
    source.addEventListener("change", function () { refresh(page); });
    source.addEventListener("gone", function () { source.close(); source = null; });
  }

  function charts(root) {
    if (!window.Chart) return;
    var canvases = root.querySelectorAll ? root.querySelectorAll("canvas[data-chart]") : [];
    canvases.forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      var d = JSON.parse(canvas.getAttribute("data-chart"));
      function pct(part, whole) { return part.map(function (p, i) { return whole[i] ? Math.round(100 * p / whole[i]) : null; }); }
      var kept = d.kept.map(function (k, i) { return k + d.broken[i]; });
      new window.Chart(canvas, {
        type: "line",
        data: { labels: d.labels, datasets: [
          { label: "Accepted in time", data: pct(d.accepted, d.accepted_all), borderColor: "#1d4ed8", backgroundColor: "#1d4ed8", spanGaps: true },
          { label: "Resolved within target", data: pct(d.resolved, d.resolved_all), borderColor: "#146c2e", backgroundColor: "#146c2e", spanGaps: true },
          { label: "Promises kept", data: pct(d.kept, kept), borderColor: "#b45309", backgroundColor: "#b45309", borderDash: [5, 4], spanGaps: true }
        ] },
        options: { animation: false, responsive: true, scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } },
          plugins: { legend: { position: "bottom" } } }
      });
    });
  }

  function init(root) { listen(document); charts(root || document); }
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    if (window.htmx) {
      document.body.addEventListener("htmx:afterSettle", function (e) {
        if (e.detail && e.detail.boosted) init(document); else charts(e.target);
      });
    }
  });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();
