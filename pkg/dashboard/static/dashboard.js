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

  // The realtime count follows the site every 30 s while the page is shown
  // (the JSON twin of the card; text only, never markup).
  var rt = document.getElementById("realtime");
  var rtCount = document.getElementById("realtime-count");
  if (rt && rtCount && rt.dataset.api && window.fetch) {
    setInterval(function () {
      if (document.visibilityState !== "visible") return;
      fetch(rt.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j || typeof j.visitors !== "number") return;
          rt.dataset.visitors = String(j.visitors);
          rtCount.textContent = j.visitors.toLocaleString("en") + (j.visitors === 1 ? " visitor" : " visitors");
          var u = document.getElementById("realtime-updated");
          if (u) u.textContent = " (count updated " + new Date().toLocaleTimeString() + ")";
        })
        .catch(function () {});
    }, 30000);
  }

  // The chart: uPlot over the figures of #chart-data. The buckets are the
  // server's (in the site's zone), so the x axis is their order, labelled
  // with the server's labels: no time zone arithmetic in the browser.
  var table = document.getElementById("chart-data");
  var box = document.getElementById("chart-js");
  if (!table || !box || typeof uPlot === "undefined") return;
  var rows = table.querySelectorAll("tbody tr[data-value]");
  if (rows.length === 0) return;
  var xs = [], ys = [], labels = [];
  rows.forEach(function (tr, i) {
    xs.push(i);
    ys.push(Number(tr.dataset.value));
    labels.push(tr.dataset.label || tr.cells[0].textContent);
  });
  var label = table.dataset.metricLabel || "Value";
  var unit = table.dataset.unit || "";
  var fmt = function (v) {
    if (v == null) return "";
    if (unit === "percent") return (v * 100).toFixed(1) + "%";
    if (unit === "seconds") return Math.round(v) + "s";
    return Math.round(v).toLocaleString("en");
  };
  var labelAt = function (i) { return i == null || labels[i] === undefined ? "" : labels[i]; };
  // On the axis, an hour shows its time, and its date at midnight only.
  var tick = function (i) {
    var l = labelAt(i), sp = l.indexOf(" ");
    if (sp < 0) return l;
    return l.slice(sp + 1) === "00:00" ? l.slice(5, sp) : l.slice(sp + 1);
  };
  var size = function () {
    return { width: Math.max(box.clientWidth, 200), height: box.clientWidth < 500 ? 160 : 220 };
  };
  var opts = Object.assign(size(), {
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false, range: function () { return [-0.5, xs.length - 0.5]; } },
      y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } },
    },
    axes: [
      { stroke: "#6b7385", grid: { show: false }, ticks: { stroke: "#e3e6ec" },
        splits: function (u) {
          // At most one label per 80 CSS pixels.
          var fit = Math.max(1, Math.floor(u.bbox.width / devicePixelRatio / 80));
          var every = Math.max(1, Math.ceil(xs.length / fit));
          return xs.filter(function (x) { return x % every === 0; });
        },
        values: function (u, splits) { return splits.map(tick); } },
      { stroke: "#6b7385", grid: { stroke: "#e3e6ec" }, ticks: { stroke: "#e3e6ec" }, size: 56,
        // Counts get whole-number steps.
        incrs: unit === "count" || unit === "" ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7] : undefined,
        values: function (u, vals) { return vals.map(fmt); } },
    ],
    series: [
      { label: table.dataset.interval || "Bucket", value: function (u, i) { return labelAt(i); } },
      { label: label, stroke: "#3b5bdb", fill: "rgba(59,91,219,0.6)", width: 1,
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
