// Tables kept live by the stream without replacing their forms: an element with
// `data-live-cells` receives (through htmx's SSE extension, hx-swap="none") JSON of the form
//   {"rows": {key: {"cells": {name: text}, "trend": "up" | "down" | ""}}, "order": [key...],
//    "totals": {element id: text}}
// and writes each text into the `[data-cell=name]` elements of the `[data-live-key=key]` row,
// marks its `[data-trend]` elements up or down, and puts table rows in `order`. The server
// formats every text (trading/live_topics.py); this file only places them.
(function () {
  "use strict";

  function rowOf(key) {
    return document.querySelector('[data-live-key="' + CSS.escape(key) + '"]');
  }

  // Puts the rows in `order`, moving them only when the order changed: a moved row loses
  // the keyboard's focus, so a trader typing a size in it would lose what they typed (the
  // stream sends the whole state when it connects, often while the page is being used).
  function reorder(order) {
    var rows = order.map(rowOf).filter(function (row) {
      return row && row.tagName === "TR";
    });
    var unchanged = rows.every(function (row, index) {
      return index === 0 || rows[index - 1].nextElementSibling === row;
    });
    if (unchanged) return;
    var focused = document.activeElement;
    rows.forEach(function (row) {
      row.parentNode.appendChild(row);
    });
    if (focused && focused !== document.activeElement && document.contains(focused)) {
      focused.focus();
    }
  }

  function apply(state) {
    Object.keys(state.rows || {}).forEach(function (key) {
      var row = rowOf(key), values = state.rows[key];
      if (!row) return;
      Object.keys(values.cells || {}).forEach(function (name) {
        row.querySelectorAll('[data-cell="' + name + '"]').forEach(function (cell) {
          cell.textContent = values.cells[name];
        });
      });
      if (values.trend !== undefined) {
        row.querySelectorAll("[data-trend]").forEach(function (cell) {
          cell.classList.toggle("up", values.trend === "up");
          cell.classList.toggle("down", values.trend === "down");
        });
      }
    });
    reorder(state.order || []);
    Object.keys(state.totals || {}).forEach(function (id) {
      var node = document.getElementById(id);
      if (node) node.textContent = state.totals[id];
    });
  }

  document.addEventListener("htmx:sseMessage", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-live-cells")) {
      apply(JSON.parse(event.detail.data));
    }
  });
})();
