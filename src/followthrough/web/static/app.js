// Progressive enhancement: everything works without this file.
// 1. Live updates: the request page listens for server-sent events and refreshes its parts.
// 2. Charts: the lead board's, Insight's (canvas[data-insight-chart]) and the silo map's network.
// 3. Small behaviours named by data attributes: select[data-go-to], button[data-print],
//    details[data-remember] (a section's open or closed state is kept per page).
// The pages' Content-Security-Policy allows no inline script, so every script lives here and
// reads its data from data-* attributes.
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

  // Every canvas[data-insight-chart], with the Chart.js configuration it carries.
  function insightCharts(root) {
    if (!window.Chart || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-insight-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var config = JSON.parse(canvas.getAttribute("data-insight-chart"));
      if (!config.type) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, config);
    });
  }

  // The silo map: departments on a circle, arrows weighted by requests and handoffs.
  function siloNetwork(root) {
    var svg = root.querySelector ? root.querySelector("svg#silo-network[data-network]") : null;
    if (!svg || svg.dataset.drawn) return;
    svg.dataset.drawn = "1";
    var net = JSON.parse(svg.getAttribute("data-network"));
    var ns = "http://www.w3.org/2000/svg", cx = 320, cy = 220, r = 160, pos = {};
    function el(name, attrs, text) {
      var e = document.createElementNS(ns, name);
      for (var k in attrs) e.setAttribute(k, attrs[k]);
      if (text) e.textContent = text;
      svg.appendChild(e);
      return e;
    }
    var defs = el("defs", {});
    // One arrowhead per edge, sized in the drawing's own units: a head a little wider than its
    // line (never the stroke-width multiple SVG uses by default, which turned the busiest
    // edges' heads into triangles over the department names).
    function arrowhead(id, width) {
      var size = Math.min(6 + width * 1.2, 16);
      var marker = document.createElementNS(ns, "marker");
      [["id", id], ["viewBox", "0 0 10 10"], ["refX", "10"], ["refY", "5"], ["markerUnits", "userSpaceOnUse"],
        ["markerWidth", String(size)], ["markerHeight", String(size)], ["orient", "auto-start-reverse"]].forEach(function (a) { marker.setAttribute(a[0], a[1]); });
      var tip = document.createElementNS(ns, "path"); tip.setAttribute("d", "M 0 0 L 10 5 L 0 10 z"); tip.setAttribute("fill", "#64748b");
      marker.appendChild(tip); defs.appendChild(marker);
      return "url(#" + id + ")";
    }
    net.nodes.forEach(function (n, i) {
      var a = 2 * Math.PI * i / net.nodes.length - Math.PI / 2;
      pos[n.id] = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
    });
    var max = Math.max.apply(null, net.edges.map(function (e) { return e.weight; }).concat([1]));
    net.edges.forEach(function (e, i) {
      var s = pos[e.source], t = pos[e.target];
      if (!s || !t) return;
      var dx = t[0] - s[0], dy = t[1] - s[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
      var ox = -dy / len * 8, oy = dx / len * 8, pad = 30 / len;
      var width = 1 + 7 * e.weight / max;
      var line = el("line", { x1: s[0] + dx * pad + ox, y1: s[1] + dy * pad + oy, x2: t[0] - dx * pad + ox, y2: t[1] - dy * pad + oy,
        stroke: "#64748b", "stroke-opacity": 0.6, "stroke-width": width, "marker-end": arrowhead("arrow-" + i, width), "class": "edge" });
      var title = document.createElementNS(ns, "title"); title.textContent = e.weight + " requests and handoffs"; line.appendChild(title);
    });
    net.nodes.forEach(function (n) {
      var p = pos[n.id], ei = n.ei === null ? 0 : n.ei;
      var colour = ei < 0 ? "#93c5fd" : "#fdba74";
      el("circle", { cx: p[0], cy: p[1], r: 26, fill: colour, stroke: "#1e293b", "class": "node" });
      // A white halo keeps each name readable where an edge passes under it.
      el("text", { x: p[0], y: p[1] + 42, "text-anchor": "middle", "font-size": 13, stroke: "#fff", "stroke-width": 4,
        "paint-order": "stroke", "stroke-linejoin": "round", fill: "#1a1f2b", "class": "node-name" }, n.name);
    });
  }

  // Sections a person closed (or opened) stay so on that page, in this browser:
  // details[data-remember][id] (Home, the lead board, the team queue).
  function sectionKey(d) { return "ft-section:" + window.location.pathname + "#" + d.id; }
  function rememberedSections(root) {
    var all = root.querySelectorAll ? root.querySelectorAll("details[data-remember][id]") : [];
    all.forEach(function (d) {
      var saved = null;
      try { saved = window.localStorage.getItem(sectionKey(d)); } catch (err) { return; }
      if (saved === "open") d.open = true; else if (saved === "closed") d.open = false;
    });
  }
  // "toggle" does not bubble: listened for while it travels down to the section.
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!d.matches || !d.matches("details[data-remember][id]")) return;
    try { window.localStorage.setItem(sectionKey(d), d.open ? "open" : "closed"); } catch (err) { /* private mode */ }
  }, true);

  // On a phone, list rows stack: each cell gets its column's header as data-label (CSS shows it),
  // unless the page wrote one itself.
  function labelCells(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("table.list").forEach(function (table) {
      var heads = table.querySelectorAll("thead tr:first-child th");
      if (!heads.length) return;
      var names = [];
      heads.forEach(function (th) {
        for (var n = 0; n < (th.colSpan || 1); n++) names.push(th.textContent.trim());
      });
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var column = 0;
        Array.prototype.forEach.call(tr.children, function (cell) {
          if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && (cell.colSpan || 1) === 1) {
            cell.setAttribute("data-label", names[column] || "");
          }
          column += cell.colSpan || 1;
        });
      });
    });
  }

  function drawAll(root) { rememberedSections(root); labelCells(root); charts(root); insightCharts(root); siloNetwork(root); }

  // Listened for on the document, so they survive boosted navigation, which swaps the body.
  document.addEventListener("change", function (e) {
    var select = e.target.closest ? e.target.closest("select[data-go-to]") : null;
    if (select) window.location = select.getAttribute("data-go-to") + encodeURIComponent(select.value);
  });
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("button[data-print]")) window.print();
  });

  // The header's menu button on a phone (button[data-menu]): the navigation folds away behind it.
  // Without this script the button stays hidden and the navigation shows in full.
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 760px)") : null;
  function menuOpen(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var header = button.closest("header");
    if (header) header.classList.toggle("menu-closed", !open);
  }
  function setUpMenu() {
    var button = document.querySelector("button[data-menu]");
    if (!button || !narrow) return;
    var header = button.closest("header");
    if (header) header.classList.add("has-menu");
    button.hidden = false;
    menuOpen(button, !narrow.matches);
  }
  if (narrow && narrow.addEventListener) {
    narrow.addEventListener("change", function () {
      var button = document.querySelector("button[data-menu]");
      if (button) menuOpen(button, !narrow.matches);
    });
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[data-menu]") : null;
    if (button) menuOpen(button, button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var button = document.querySelector("button[data-menu][aria-expanded=true]");
    if (button && narrow && narrow.matches) { menuOpen(button, false); button.focus(); }
  });

  function init(root) { listen(document); setUpMenu(); drawAll(root || document); }
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    if (window.htmx) {
      document.body.addEventListener("htmx:afterSettle", function (e) {
        if (e.detail && e.detail.boosted) init(document); else drawAll(e.target);
      });
    }
  });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();
