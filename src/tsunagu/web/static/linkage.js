// The collaboration and clean-room pages' charts: Apache ECharts (served locally) draws
// each chart from the option the server wrote into the page as JSON.
//
// An element with data-chart="ID" is a chart; <script type="application/json" id="ID">
// holds its ECharts option (every string already in the reader's language, no functions:
// the Content Security Policy allows no inline script, so nothing is evaluated).  Every
// chart's numbers are also in a table on the page.  A drawn chart gets
// data-rendered="true"; one whose option cannot be read gets data-rendered="failed".
"use strict";

(function () {
  function draw() {
    if (typeof window.echarts === "undefined") {
      return;
    }
    const charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      const source = document.getElementById(element.dataset.chart);
      let option = null;
      try {
        option = source ? JSON.parse(source.textContent) : null;
      } catch (error) {
        option = null;
      }
      if (option === null) {
        element.dataset.rendered = "failed";
        return;
      }
      const chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option);
      element.dataset.rendered = "true";
      charts.push(chart);
    });
    let pending = null;
    window.addEventListener("resize", function () {
      if (pending !== null) {
        window.clearTimeout(pending);
      }
      pending = window.setTimeout(function () {
        pending = null;
        charts.forEach(function (chart) {
          chart.resize();
        });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
