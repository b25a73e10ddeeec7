// Small enhancements of the staff pages; every page works without them.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 701px)");

  // On a phone a data table's rows stack, each cell led by its column's name (data-label).
  function labelCells(table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.replace(/[▲▼]/g, "").trim();
    });
    table.querySelectorAll("tbody tr, tfoot tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.children, function (cell) {
        if (!cell.hasAttribute("data-label") && heads[column]) { cell.setAttribute("data-label", heads[column]); }
        column += cell.colSpan || 1;
      });
    });
  }

  // Filters and the menu fold behind a button on a phone and stay open on a wider screen.
  function unfold() {
    document.querySelectorAll("details[data-fold]").forEach(function (details) {
      if (wide.matches) { details.open = true; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.data").forEach(labelCells);
    unfold();
    if (wide.addEventListener) { wide.addEventListener("change", unfold); }
  });
})();
