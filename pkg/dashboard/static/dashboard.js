// Teller dashboard: the interactive chart and small aids. The pages work
// without this file: the chart's figures are also a table (#chart-data) and
// a server-drawn SVG, filters are links and plain forms. Loaded only from
// 'self' under the Content Security Policy; no inline code anywhere.
(function () {
  "use strict";
  document.documentElement.classList.add("has-js");

  // Copy buttons: <button data-copy="id"> copies the text of #id.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var src = document.getElementById(b.dataset.copy);
    if (!src || !navigator.clipboard) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(src.textContent).then(function () {
        b.textContent = "Copied";
      }, function () {
        b.textContent = "Select the text and copy it";
      });
    });
  });

  // The chart: uPlot over the figures of #chart-data, in the site's zone.
  var table = document.getElementById("chart-data");
  var box = document.getElementById("chart-js");
  if (!table || !box || typeof uPlot === "undefined") return;
  var rows = table.querySelectorAll("tbody tr[data-start]");
  if (rows.length === 0) return;
  var xs = [], ys = [];
  rows.forEach(function (tr) {
    xs.push(Number(tr.dataset.start));
    ys.push(Number(tr.dataset.value));
  });
  var zone = table.dataset.timezone || "UTC";
  var label = table.dataset.metricLabel || "Value";
  var unit = table.dataset.unit || "";
  var fmt = function (v) {
    if (v == null) return "";
    if (unit === "percent") return (v * 100).toFixed(1) + "%";
    if (unit === "seconds") return Math.round(v) + "s";
    return Math.round(v).toLocaleString("en");
  };
  var size = function () {
    return { width: Math.max(box.clientWidth, 200), height: box.clientWidth < 500 ? 160 : 220 };
  };
  var opts = Object.assign(size(), {
    tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), zone); },
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
    axes: [
      { stroke: "#6b7385", grid: { stroke: "#e3e6ec" }, ticks: { stroke: "#e3e6ec" } },
      { stroke: "#6b7385", grid: { stroke: "#e3e6ec" }, ticks: { stroke: "#e3e6ec" }, size: 56,
        values: function (u, vals) { return vals.map(fmt); } },
    ],
    series: [
      { label: "Time" },
      { label: label, stroke: "#3b5bdb", fill: "rgba(59,91,219,0.35)", width: 1,
        paths: uPlot.paths.bars({ size: [0.7, 48] }), points: { show: false },
        value: function (u, v) { return fmt(v); } },
    ],
  });
  var plot = new uPlot(opts, [xs, ys], box);
  box.setAttribute("data-drawn", String(xs.length));
  var pending = 0;
  window.addEventListener("resize", function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () { plot.setSize(size()); });
  });
})();
