// Draws the charts of a page from the JSON that the page embeds (script type="application/json",
// which a strict Content-Security-Policy allows: it is data, not code).
(function () {
  "use strict";
  var palette = ["#0b5cad", "#d1495b", "#2a9d8f", "#e9a23b", "#6a4c93", "#3d5a80", "#8d6e63", "#43aa8b", "#f3722c", "#577590"];
  var money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
  var compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
  // Amounts on an axis read compact, as on the pages (US$1.55B); tooltips give them to the dollar.
  function usd(v) { return (v < 0 ? "-US$" : "US$") + compact.format(Math.abs(v)); }
  function narrow(canvas) { return canvas.parentElement && canvas.parentElement.clientWidth < 560; }

  // The charts take their text and grid colours from the page's (light or dark, as the system is).
  function themeColours() {
    var style = getComputedStyle(document.documentElement);
    Chart.defaults.color = style.getPropertyValue("--muted").trim() || "#4a5563";
    Chart.defaults.borderColor = style.getPropertyValue("--line").trim() || "#d0d7de";
  }
  var day = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "UTC" });

  function data(name) {
    var element = document.getElementById("chart-" + name);
    return element ? JSON.parse(element.textContent) : null;
  }

  function value(canvas, spec) {
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, i) {
          return { label: set.label, data: set.data, fill: spec.stacked !== false, pointRadius: spec.labels.length < 3 ? 4 : 0, borderWidth: 1.5,
                   borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length] + "55" };
        }),
      },
      options: { animation: false, interaction: { mode: "index", intersect: false }, aspectRatio: narrow(canvas) ? 1 : 2.5,
                 scales: { y: { stacked: spec.stacked !== false, ticks: { callback: function (v) { return usd(v); } } },
                           x: { ticks: { maxTicksLimit: narrow(canvas) ? 4 : 10, maxRotation: 0 } } },
                 plugins: { legend: { position: narrow(canvas) ? "bottom" : "top" },
                            tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money.format(c.parsed.y); } } } } },
    });
  }

  function allocation(canvas, spec) {
    return new Chart(canvas, {
      type: "doughnut",
      data: { labels: spec.labels, datasets: [{ data: spec.data, backgroundColor: spec.labels.map(function (_, i) { return palette[i % palette.length]; }) }] },
      options: { animation: false, plugins: { legend: { position: narrow(canvas) ? "bottom" : "right" },
                 tooltip: { callbacks: { label: function (c) { return c.label + ": " + money.format(c.parsed); } } } },
                 // A slice leads to the deals behind it, as its row in the table beside does.
                 onClick: function (event, elements) {
                   var links = spec.links || [];
                   if (elements.length && links[elements[0].index]) { window.location.assign(links[elements[0].index]); }
                 },
                 onHover: function (event, elements) {
                   var links = spec.links || [];
                   event.native.target.style.cursor = elements.length && links[elements[0].index] ? "pointer" : "default";
                 } },
    });
  }

  function price(canvas, spec) {
    return new Chart(canvas, {
      type: "line",
      data: { labels: spec.labels, datasets: [{ label: "Close", data: spec.data, pointRadius: 0, borderColor: palette[0], borderWidth: 1.5 }] },
      options: { animation: false, plugins: { legend: { display: false } },
                 scales: { x: { ticks: { maxTicksLimit: narrow(canvas) ? 4 : 10, maxRotation: 0 } } } },
    });
  }

  function timeline(canvas, spec) {
    var labels = spec.rows.map(function (r) { return r.label; });
    var stamps = [];
    spec.rows.forEach(function (r) {
      [r.baseline, r.forecast].forEach(function (w) { if (w) { stamps.push(w[0], w[1]); } });
      if (r.achieved) { stamps.push(r.achieved); }
    });
    var month = 30 * 86400000;
    var low = stamps.length ? Math.min.apply(null, stamps) - month : undefined;
    var high = stamps.length ? Math.max.apply(null, stamps) + month : undefined;
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "Baseline window", data: spec.rows.map(function (r) { return r.baseline; }), backgroundColor: "#9fb3c8" },
          { label: "Forecast window", data: spec.rows.map(function (r) { return r.forecast; }), backgroundColor: "#0b5cad" },
          { label: "Achieved", data: spec.rows.map(function (r) { return r.achieved ? [r.achieved, r.achieved + 10 * 86400000] : null; }), backgroundColor: "#1a6b34" },
        ],
      },
      options: { animation: false, indexAxis: "y",
                 scales: { x: { type: "linear", beginAtZero: false, min: low, max: high,
                                ticks: { callback: function (v) { return day.format(new Date(v)); } } } },
                 plugins: { tooltip: { callbacks: { label: function (c) {
                   var range = c.raw; return c.dataset.label + ": " + day.format(new Date(range[0])) + " to " + day.format(new Date(range[1]));
                 } } } } },
    });
  }

  var draw = { value: value, allocation: allocation, price: price, timeline: timeline };

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof Chart === "undefined") { return; }
    themeColours();
    var drawn = [];
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = data(canvas.dataset.chart);
      if (spec && draw[spec.type]) { canvas.chart = draw[spec.type](canvas, spec); canvas.dataset.drawn = "true"; drawn.push(canvas.chart); }
    });
    var scheme = window.matchMedia("(prefers-color-scheme: dark)");
    if (scheme.addEventListener) {
      scheme.addEventListener("change", function () { themeColours(); drawn.forEach(function (chart) { chart.update(); }); });
    }
  });
})();
