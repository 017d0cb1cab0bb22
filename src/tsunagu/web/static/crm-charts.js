// The pipeline pages' charts: Apache ECharts (served locally) draws each chart from the
// option the server wrote into the page as JSON.
//
// An element with data-chart="ID" is a chart; <script type="application/json" id="ID">
// holds its ECharts option (every string already in the reader's language, no functions:
// the Content Security Policy allows no inline script, so nothing is evaluated).  Every
// chart's numbers are also in a table on the page; without JavaScript the tables remain.
// A drawn chart gets data-rendered="true"; one whose option cannot be read gets
// data-rendered="failed" and stays empty.
"use strict";

(function () {
  function draw() {
    if (typeof window.echarts === "undefined") {
      return;
    }
    const drawn = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      const source = document.getElementById(element.dataset.chart);
      if (!source) {
        element.dataset.rendered = "failed";
        return;
      }
      let option;
      try {
        option = JSON.parse(source.textContent);
      } catch (error) {
        element.dataset.rendered = "failed";
        return;
      }
      const chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option);
      element.dataset.rendered = "true";
      drawn.push(chart);
    });
    let pending = null;
    window.addEventListener("resize", function () {
      if (pending !== null) {
        window.clearTimeout(pending);
      }
      pending = window.setTimeout(function () {
        pending = null;
        drawn.forEach(function (chart) {
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
