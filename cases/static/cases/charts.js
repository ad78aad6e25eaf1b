// Draws each chart of the charts page with the vendored Chart.js from its JSON data block (data,
// not script: the CSP allows it). The same numbers are in the table beside every chart.
(function () {
  "use strict";

  function font() {
    return { family: '"Source Sans Pro Web", "Helvetica Neue", Helvetica, Roboto, Arial, sans-serif', size: 13 };
  }

  function dataset(d, kind) {
    var line = d.type === "line" || kind === "line";
    return {
      type: line ? "line" : "bar",
      label: d.label,
      data: d.data,
      backgroundColor: d.color,
      borderColor: d.color,
      borderWidth: line ? 2 : 0,
      pointRadius: line ? 3 : 0,
      spanGaps: true,
      yAxisID: d.axis === "y2" ? "y2" : "y",
      order: line ? 0 : 1,
      maxBarThickness: 48
    };
  }

  function draw(canvas, spec) {
    var scales = {
      x: { stacked: spec.stacked, grid: { display: false }, ticks: { font: font(), maxRotation: 0, autoSkip: true } },
      y: {
        stacked: spec.stacked, beginAtZero: true,
        ticks: { font: font(), precision: 0 },
        title: { display: !!spec.yTitle, text: spec.yTitle, font: font() }
      }
    };
    if (spec.y2Title) {
      scales.y2 = {
        position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
        max: spec.y2Max === null ? undefined : spec.y2Max,
        ticks: { font: font() }, title: { display: true, text: spec.y2Title, font: font() }
      };
    }
    return new window.Chart(canvas, {
      type: spec.kind === "line" ? "line" : "bar",
      data: { labels: spec.labels, datasets: spec.datasets.map(function (d) { return dataset(d, spec.kind); }) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { position: "bottom", labels: { font: font(), boxWidth: 14 } },
          tooltip: { titleFont: font(), bodyFont: font() }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("canvas[id^=canvas-]"), function (canvas) {
      var block = document.getElementById(canvas.id.replace("canvas-", "chart-data-"));
      if (block) { draw(canvas, JSON.parse(block.textContent)); }
    });
  });
})();
