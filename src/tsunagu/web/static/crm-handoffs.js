// The handoff report's chart: the average rating per period (line, 1–5) over the number of
// handoffs (bars).  The data come from the page as JSON (#handoff-chart-data), labels
// already translated; the table under the chart holds the same numbers.
"use strict";

(function () {
  function draw() {
    const holder = document.getElementById("handoff-chart");
    const source = document.getElementById("handoff-chart-data");
    if (!holder || !source || typeof window.echarts === "undefined") {
      return;
    }
    const data = JSON.parse(source.textContent || "{}");
    const chart = window.echarts.init(holder, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: [data.labels.average, data.labels.handoffs] },
      grid: { left: 48, right: 48, top: 64, bottom: 32 },
      xAxis: { type: "category", data: data.periods },
      yAxis: [
        { type: "value", min: 1, max: 5, interval: 1, name: data.labels.average },
        { type: "value", minInterval: 1, name: data.labels.handoffs },
      ],
      series: [
        {
          name: data.labels.handoffs,
          type: "bar",
          yAxisIndex: 1,
          data: data.handoffs,
          itemStyle: { color: "#c9d9ee" },
        },
        {
          name: data.labels.average,
          type: "line",
          data: data.average,
          connectNulls: false,
          itemStyle: { color: "#1f5fa8" },
        },
      ],
    });
    holder.dataset.rendered = "true";
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
