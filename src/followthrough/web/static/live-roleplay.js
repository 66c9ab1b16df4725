// Live role-play session (loaded at the end of the page's body): refresh the board when the server says the session changed.
// The server sends 'change' (server-sent events) when the session's version moves on; the board
// is fetched again and swapped in, and the observer's turn list grows to the newest turn unless
// they picked another one. Forms outside the board are left alone, so nobody loses what they type.
(function () {
  "use strict";
  var board = document.querySelector("[data-live-board]");
  if (!board || !window.EventSource) { return; }
  var status = document.querySelector("[data-live-status]");
  var select = document.querySelector("[data-turn-select]");
  if (select) { select.addEventListener("change", function () { select.dataset.touched = "yes"; }); }
  var fetching = false, again = false;

  function turnsOf(root) {
    var inner = root.querySelector("[data-turns]");
    return inner ? parseInt(inner.dataset.turns, 10) || 0 : 0;
  }

  function growTurns(turns) {
    var wait = document.querySelector("[data-wait-turn]");
    if (wait && turns > 0) { window.location.reload(); return; }
    if (!select) { return; }
    for (var n = select.options.length + 1; n <= turns; n++) {
      var option = document.createElement("option");
      option.value = String(n);
      option.textContent = "Turn " + n;
      select.appendChild(option);
    }
    if (select.dataset.touched !== "yes") { select.value = String(turns); }
  }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(board.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector(".rp-live-board");
        var old = board.querySelector(".rp-live-board");
        if (fresh && old) {
          old.replaceWith(fresh);
          growTurns(turnsOf(board));
          if (status) { status.textContent = "Updated"; }
          if (fresh.dataset.ended === "yes" && status) { status.textContent = "The session has ended; the debrief is open."; }
        }
      })
      .catch(function () { if (status) { status.textContent = "Reconnecting…"; } })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  var drawn = board.querySelector("[data-version]");
  var events = new EventSource(board.dataset.events + "?after=" + (drawn ? drawn.dataset.version : "0"));
  function stop() { events.close(); }
  events.addEventListener("change", function () {
    // The page was left (an htmx swap replaced it): this stream is no longer anyone's.
    if (!document.body.contains(board)) { stop(); return; }
    refresh();
  });
  events.addEventListener("gone", stop);
  document.addEventListener("htmx:beforeSwap", stop, { once: true });
  window.addEventListener("pagehide", stop, { once: true });
}());
