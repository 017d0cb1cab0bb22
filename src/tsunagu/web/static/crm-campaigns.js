/* The channel × stage heatmap of /crm/channels, drawn with the locally served ECharts.
 * The numbers come from <script type="application/json" id="channel-map-data"> (the CSP
 * allows no inline script); the table on the page holds the same numbers. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("channel-map-data");
    var box = document.getElementById("channel-map");
    if (!source || !box || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent || "{}");
    var chart = window.echarts.init(box, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: {
        position: "top",
        formatter: function (p) {
          return data.channels[p.value[1]] + " → " + data.stages[p.value[0]] + ": " + p.value[2];
        }
      },
      grid: { left: 110, right: 20, top: 10, bottom: 80 },
      xAxis: { type: "category", data: data.stages, splitArea: { show: true },
               axisLabel: { rotate: 40, interval: 0 } },
      yAxis: { type: "category", data: data.channels, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(1, data.max), calculable: false, orient: "horizontal",
                   left: "center", bottom: 0, itemHeight: 120,
                   inRange: { color: ["#f6f8fa", "#54aeff", "#0969da", "#0a3069"] } },
      series: [{
        name: "forward moves",
        type: "heatmap",
        data: data.cells,
        label: { show: true },
        emphasis: { itemStyle: { borderColor: "#1f2328", borderWidth: 1 } }
      }]
    });
    box.setAttribute("data-rendered", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
