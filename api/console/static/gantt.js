/* The provisioning order's step plan as a Gantt chart (Apache ECharts, custom series): per step the planned bar
   (light, outlined) and the actual bar (solid), coloured by state: done, in progress, jeopardy (amber), breach
   (red); a line marks now. The data is the JSON the server put in #gantt-data. */
(function () {
  function draw() {
    var holder = document.getElementById("gantt");
    var source = document.getElementById("gantt-data");
    if (!holder || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(holder, null, { renderer: "svg" });
    function bars(kind) {
      return function (params, api) {
        var row = api.value(0), start = api.coord([api.value(1), row]), end = api.coord([api.value(2), row]);
        var band = api.size([0, 1])[1];
        var height = kind === "planned" ? band * 0.34 : band * 0.26;
        var y = kind === "planned" ? start[1] - band * 0.36 : start[1] + band * 0.04;
        var state = data[kind][params.dataIndex].state;
        var colour = data.colours[state];
        var style = kind === "planned"
          ? { fill: colour + "33", stroke: colour, lineWidth: 1 }
          : { fill: colour };
        return { type: "rect", shape: { x: start[0], y: y, width: Math.max(end[0] - start[0], 2), height: height }, style: style };
      };
    }
    var legendColour = { planned: "#adb5bd", actual: data.colours.in_progress };
    var series = ["planned", "actual"].map(function (kind) {
      return {
        type: "custom", name: data.labels[kind], renderItem: bars(kind), encode: { x: [1, 2], y: 0 },
        itemStyle: { color: legendColour[kind] },
        data: data[kind].map(function (d) { return d.value; })
      };
    });
    series[0].markLine = {
      symbol: "none", silent: true, label: { formatter: data.labels.now, position: "start", color: "#d63939" }, lineStyle: { color: "#d63939", type: "dashed" },
      data: [{ xAxis: data.now }]
    };
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: 'system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif' },
      grid: { left: 8, right: 24, top: 36, bottom: 36, containLabel: true },
      legend: { top: 0, data: [data.labels.planned, data.labels.actual] },
      tooltip: { show: false },
      xAxis: { type: "time", axisLabel: { hideOverlap: true, formatter: "{MM}-{dd}" }, splitLine: { show: true, lineStyle: { color: "#eef2f7" } } },
      yAxis: { type: "category", data: data.categories, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
    holder.setAttribute("data-drawn", "1");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
