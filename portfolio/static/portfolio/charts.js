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

  // A colour of the page's (light or dark), for what a chart marks as the page does.
  function pageColour(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  // A dashed line at today across a chart whose x axis is in epoch milliseconds (options.at); the
  // canvas says the day it marks (data-today) once drawn.
  var todayLine = {
    id: "todayLine",
    afterDraw: function (chart, args, options) {
      if (options.at === undefined || options.at === null) { return; }
      var x = chart.scales.x.getPixelForValue(options.at), area = chart.chartArea, ctx = chart.ctx;
      if (x < area.left || x > area.right) { return; }
      ctx.save();
      ctx.strokeStyle = ctx.fillStyle = options.color || pageColour("--bad", "#a3141e");
      ctx.lineWidth = 2; ctx.setLineDash([6, 4]);
      ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom); ctx.stroke();
      ctx.font = "600 12px system-ui, sans-serif"; ctx.fillText("Today", x + 4, area.top + 12);
      ctx.restore();
      chart.canvas.dataset.today = day.format(new Date(options.at));
    },
  };

  // Ticks on the first of a month, every 1, 3, 6, 12 or 24 months as the span asks, rather than at
  // round numbers of milliseconds.
  function monthTicks(axis) {
    var years = (axis.max - axis.min) / (365.25 * 86400000);
    var step = years > 8 ? 24 : years > 4 ? 12 : years > 2 ? 6 : years > 1 ? 3 : 1;
    var first = new Date(axis.min).getUTCFullYear(), ticks = [];
    for (var month = 0, t = Date.UTC(first, 0, 1); t <= axis.max; month += step, t = Date.UTC(first, month, 1)) {
      if (t >= axis.min) { ticks.push({ value: t }); }
    }
    axis.ticks = ticks;
  }

  function timeline(canvas, spec) {
    var oneDay = 86400000, longest = canvas.clientWidth < 600 ? 24 : 48;
    var labels = spec.rows.map(function (r) {
      var most = r.heading ? longest - 4 : longest;  // headings are bold, so wider
      return r.label.length > most ? r.label.slice(0, most - 1) + "…" : r.label;
    });
    // A window runs to the end of its last day; an achievement is a day (drawn at least 4 px wide).
    function bar(w) { return w ? [w[0], w[1] + oneDay] : null; }
    var stamps = spec.today ? [spec.today] : [];
    spec.rows.forEach(function (r) {
      [r.baseline, r.forecast].forEach(function (w) { if (w) { stamps.push(w[0], w[1] + oneDay); } });
      if (r.achieved) { stamps.push(r.achieved); }
    });
    var month = 30 * oneDay;
    var low = stamps.length ? Math.min.apply(null, stamps) - month : undefined;
    var high = stamps.length ? Math.max.apply(null, stamps) + month : undefined;
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "Baseline window", data: spec.rows.map(function (r) { return bar(r.baseline); }), backgroundColor: "#9fb3c8", minBarLength: 4 },
          { label: "Forecast window", data: spec.rows.map(function (r) { return bar(r.forecast); }), minBarLength: 4,
            backgroundColor: spec.rows.map(function (r) { return r.stale ? "#e9a23b" : pageColour("--accent", "#0b5cad"); }) },
          { label: "Achieved", data: spec.rows.map(function (r) { return r.achieved ? [r.achieved, r.achieved + oneDay] : null; }),
            backgroundColor: pageColour("--ok", "#1a6b34"), minBarLength: 4 },
        ],
      },
      plugins: [todayLine],
      options: { animation: false, indexAxis: "y", maintainAspectRatio: !spec.tall,
                 scales: { x: { type: "linear", beginAtZero: false, min: low, max: high, afterBuildTicks: monthTicks,
                                ticks: { callback: function (v) { return day.format(new Date(v)); } } },
                           y: { ticks: { autoSkip: false, font: function (c) {
                             var row = spec.rows[c.index]; return row && row.heading ? { weight: "bold" } : {};
                           } } } },
                 plugins: { todayLine: { at: spec.today },
                            tooltip: { callbacks: {
                   title: function (items) { return items.length ? spec.rows[items[0].dataIndex].label : ""; },
                   label: function (c) {
                     var row = spec.rows[c.dataIndex];
                     if (c.datasetIndex === 2) { return "Achieved: " + day.format(new Date(row.achieved)); }
                     var w = c.datasetIndex === 0 ? row.baseline : row.forecast;
                     var stale = c.datasetIndex === 1 && row.stale ? " (stale forecast)" : "";
                     return c.dataset.label + ": " + day.format(new Date(w[0])) + " to " + day.format(new Date(w[1])) + stale;
                 } } } } },
    });
  }

  // Many projects' milestones on one chart: a bold heading row per project, the chart as tall as
  // its rows (the box around the canvas takes the height; Chart.js fills it).
  function portfolioTimeline(canvas, spec) {
    canvas.parentNode.style.height = Math.max(12, spec.rows.length * 1.6 + 6) + "rem";
    spec.tall = true;
    return timeline(canvas, spec);
  }

  // The value bridge: floating bars from the running total before each step to the one after it;
  // the opening and closing values stand on the axis. Rises and falls differ in colour and in their
  // tooltips' signs (the table under the chart gives every figure).
  function waterfall(canvas, spec) {
    var colours = { total: pageColour("--accent", "#0b5cad"), up: "#2a9d8f", down: "#d1495b" };
    // The value axis spans the running totals (with a margin), not zero to the top: the steps are
    // small beside the book. The opening and closing bars rise from the axis's start.
    var ends = [];
    spec.bars.forEach(function (bar, i) { if (spec.kinds[i] !== "total") { ends.push(bar[0], bar[1]); } else { ends.push(bar[1]); } });
    var low = Math.min.apply(null, ends), high = Math.max.apply(null, ends);
    var margin = (high - low) * 0.25 || Math.abs(high) * 0.01 || 1;
    var start = low >= 0 ? Math.max(0, low - margin) : low - margin;
    var horizontal = narrow(canvas);
    function label(i, size) { var text = spec.labels[i] || ""; return text.length > size ? text.slice(0, size - 1) + "…" : text; }
    // Ticks as precise as the span needs: US$1.717B and US$1.719B, not US$1.72B twice.
    var digits = Math.min(6, Math.max(3, Math.ceil(Math.log10(Math.max(Math.abs(high), 1) / (high + margin - start))) + 2));
    var precise = new Intl.NumberFormat("en-US", { notation: "compact", maximumSignificantDigits: digits });
    function tick(v) { return (v < 0 ? "-US$" : "US$") + precise.format(Math.abs(v)); }
    var valueAxis = { min: start, max: high + margin, ticks: { maxTicksLimit: horizontal ? 3 : 8, callback: function (v) { return tick(v); } } };
    var categoryAxis = { ticks: { autoSkip: false, callback: function (v, i) { return label(i, horizontal ? 16 : 18); } } };
    return new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: [{ label: "Value bridge", data: spec.bars, minBarLength: 2,
        backgroundColor: spec.kinds.map(function (k) { return colours[k]; }) }] },
      options: { animation: false, responsive: true, aspectRatio: horizontal ? 1 : 2.4, indexAxis: horizontal ? "y" : "x",
                 plugins: { legend: { display: false },
                            tooltip: { callbacks: {
                              title: function (items) { return items.length ? spec.labels[items[0].dataIndex] : ""; },
                              label: function (c) {
                                var bar = spec.bars[c.dataIndex];
                                if (spec.kinds[c.dataIndex] === "total") { return money.format(bar[1]); }
                                var change = bar[1] - bar[0];
                                return (change >= 0 ? "+" : "-") + money.format(Math.abs(change));
                              } } } },
                 scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis } }
    });
  }

  // Sensitivities: a row an input (the largest first), its bars the change of exposure with the
  // input lower (one colour) and higher (the other). A bar runs from zero to its figure; where both
  // go the same way, the farther starts where the nearer ends, so that each still ends at its
  // figure and neither hides the other. The box takes the chart's height from its rows.
  function tornado(canvas, spec) {
    var rows = spec.labels.length, horizontal = narrow(canvas);
    canvas.parentNode.style.height = Math.max(12, rows * (horizontal ? 3 : 2.4) + 6) + "rem";
    function bars(mine, other) {
      return mine.map(function (v, i) {
        if (v === null) { return null; }
        var o = other[i];
        return o !== null && o * v > 0 && Math.abs(o) < Math.abs(v) ? [o, v] : [0, v];
      });
    }
    // An input's name on up to two lines (the second cut short with an ellipsis if need be).
    function label(i) {
      var size = horizontal ? 16 : 40, lines = [""];
      (spec.labels[i] || "").split(" ").forEach(function (word) {
        var last = lines.length - 1;
        if (lines[last] && (lines[last] + " " + word).length > size) { lines.push(word); } else { lines[last] = lines[last] ? lines[last] + " " + word : word; }
      });
      if (lines.length > 2) { lines = [lines[0], lines.slice(1).join(" ")]; }
      return lines.map(function (line) { return line.length > size ? line.slice(0, size - 1) + "…" : line; });
    }
    function signed(v) { return v === null || v === undefined ? "n/a" : (v > 0 ? "+" : v < 0 ? "-" : "") + money.format(Math.abs(v)); }
    var figures = [spec.down, spec.up];
    return new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: [
        { label: spec.legend[0], data: bars(spec.down, spec.up), backgroundColor: "#e9a23b", grouped: false, barPercentage: 0.8 },
        { label: spec.legend[1], data: bars(spec.up, spec.down), backgroundColor: pageColour("--accent", "#0b5cad"), grouped: false, barPercentage: 0.8 },
      ] },
      options: { animation: false, indexAxis: "y", maintainAspectRatio: false,
                 scales: { x: { ticks: { maxTicksLimit: horizontal ? 5 : 9, callback: function (v) { return usd(v); } },
                                grid: { color: function (c) { return c.tick && c.tick.value === 0 ? pageColour("--muted", "#4a5563") : Chart.defaults.borderColor; } } },
                           y: { ticks: { autoSkip: false, callback: function (v, i) { return label(i); } } } },
                 plugins: { legend: { position: "top" },
                            tooltip: { callbacks: {
                              title: function (items) { return items.length ? spec.labels[items[0].dataIndex] : ""; },
                              label: function (c) { return c.dataset.label + ": " + signed(figures[c.datasetIndex][c.dataIndex]); } } } } },
    });
  }

  // A dashed line across a chart at an x value (options.at), named (options.text).
  var marker = {
    id: "marker",
    afterDraw: function (chart, args, options) {
      if (options.at === undefined || options.at === null) { return; }
      var x = chart.scales.x.getPixelForValue(options.at), area = chart.chartArea, ctx = chart.ctx;
      if (x < area.left || x > area.right) { return; }
      ctx.save();
      ctx.strokeStyle = ctx.fillStyle = pageColour("--muted", "#4a5563");
      ctx.lineWidth = 1.5; ctx.setLineDash([6, 4]);
      ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom); ctx.stroke();
      ctx.font = "600 12px system-ui, sans-serif";
      var width = ctx.measureText(options.text).width;
      ctx.fillText(options.text, x + 4 + width > area.right ? x - 4 - width : x + 4, area.top + 12);
      ctx.restore();
    },
  };

  // A price floor's liability over the commodity's price (US$ per unit), the day's market price
  // marked.
  function floorCurve(canvas, spec) {
    var number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
    function perUnit(v) { return "US$" + number.format(v); }
    var prices = spec.points.map(function (p) { return p[0]; });
    // A tick at every price the curve is drawn at, or every second or third as the width allows.
    var every = canvas.parentElement.clientWidth < 420 ? 3 : canvas.parentElement.clientWidth < 900 ? 2 : 1;
    function priceTicks(axis) { axis.ticks = prices.filter(function (p, i) { return i % every === 0; }).map(function (p) { return { value: p }; }); }
    return new Chart(canvas, {
      type: "line",
      data: { datasets: [{ label: spec.label, data: spec.points.map(function (p) { return { x: p[0], y: p[1] }; }),
                           borderColor: "#d1495b", backgroundColor: "#d1495b33", fill: true, pointRadius: 3, borderWidth: 2 }] },
      plugins: [marker],
      options: { animation: false, aspectRatio: narrow(canvas) ? 1.2 : 1.8,
                 scales: { x: { type: "linear", min: Math.min.apply(null, prices), max: Math.max.apply(null, prices),
                                title: { display: true, text: "US$ per " + spec.unit }, afterBuildTicks: priceTicks,
                                ticks: { maxRotation: 0, callback: function (v) { return perUnit(v); } } },
                           y: { beginAtZero: true, ticks: { maxTicksLimit: 6, callback: function (v) { return usd(v); } } } },
                 plugins: { legend: { display: false },
                            marker: { at: spec.market, text: spec.market === null ? "" : "Market " + perUnit(spec.market) },
                            tooltip: { callbacks: {
                              title: function (items) { return items.length ? "At " + perUnit(items[0].parsed.x) + " per " + spec.unit : ""; },
                              label: function (c) { return "Liability: " + money.format(c.parsed.y); } } } } },
    });
  }

  // A historical stress path: the change of the held value, the exposure and the floors' liability
  // from the base on each day of the path, each line drawn its own way (colour, dash and point) so
  // that they differ without colour; zero is the base; the worst day is marked across the chart.
  function stress(canvas, spec) {
    var styles = [{ colour: palette[0], dash: [], point: "circle" }, { colour: palette[1], dash: [6, 4], point: "rectRot" },
                  { colour: palette[2], dash: [2, 3], point: "triangle" }];
    var dots = spec.labels.length <= (narrow(canvas) ? 12 : 40) ? 3 : 0;
    return new Chart(canvas, {
      type: "line",
      data: { labels: spec.labels, datasets: spec.datasets.map(function (set, i) {
        var style = styles[i % styles.length];
        return { label: set.label, data: set.data, borderColor: style.colour, backgroundColor: style.colour, borderDash: style.dash,
                 pointStyle: style.point, pointRadius: dots, borderWidth: 2, fill: false };
      }) },
      plugins: [marker],
      options: { animation: false, interaction: { mode: "index", intersect: false }, aspectRatio: narrow(canvas) ? 1 : 2.5,
                 scales: { x: { ticks: { maxTicksLimit: narrow(canvas) ? 4 : 12, maxRotation: 0 } },
                           y: { ticks: { maxTicksLimit: narrow(canvas) ? 6 : 8, callback: function (v) { return usd(v); } },
                                grid: { color: function (c) { return c.tick && c.tick.value === 0 ? pageColour("--muted", "#4a5563") : Chart.defaults.borderColor; } } } },
                 plugins: { legend: { position: narrow(canvas) ? "bottom" : "top", labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } },
                            marker: { at: spec.worst, text: spec.worst_label || "" },
                            tooltip: { callbacks: { label: function (c) {
                              var v = c.parsed.y;
                              return c.dataset.label + ": " + (v === null || v === undefined ? "n/a" : (v > 0 ? "+" : v < 0 ? "-" : "") + money.format(Math.abs(v)));
                            } } } } },
    });
  }

  var draw = { stress: stress, tornado: tornado, "floor-curve": floorCurve, waterfall: waterfall, value: value, allocation: allocation, price: price, timeline: timeline, "portfolio-timeline": portfolioTimeline };

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
