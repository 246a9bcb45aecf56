// The console's dashboards: draws each [data-chart] element from the page's #dashboard-data with Apache ECharts.
(function () {
  "use strict";
  const palette = ["#0b5cad", "#e8a317", "#2f9e44", "#d63939", "#7048e8", "#868e96"];
  const grid = { left: 48, right: 16, top: 36, bottom: 64, containLabel: true };

  function options(kind, d) {
    if (kind === "kpis") {
      return {
        color: palette, tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: grid,
        xAxis: { type: "category", data: d.kpis.names, axisLabel: { interval: 0, rotate: 30, width: 110, overflow: "truncate" } },
        yAxis: { type: "value", min: 0, max: 100 },
        series: [
          { name: d.kpis.series[0], type: "bar", data: d.kpis.values },
          { name: d.kpis.series[1], type: "scatter", symbol: "rect", symbolSize: [28, 4], data: d.kpis.targets, z: 3 },
        ],
      };
    }
    if (kind === "tickets") {
      return {
        color: ["#d63939", "#e8a317", "#0b5cad", "#868e96"], tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: grid,
        xAxis: { type: "category", data: d.tickets.statuses, axisLabel: { interval: 0, rotate: 30 } },
        yAxis: { type: "value", minInterval: 1 },
        series: d.tickets.priorities.map((name, i) => ({ name: name, type: "bar", stack: "priority", data: d.tickets.counts[i] })),
      };
    }
    if (kind === "breaches") {
      return {
        color: ["#d63939"], tooltip: { trigger: "axis" }, grid: grid,
        xAxis: { type: "category", data: d.breaches.days }, yAxis: { type: "value", minInterval: 1 },
        series: [{ name: d.breaches.series, type: "line", areaStyle: { opacity: 0.15 }, data: d.breaches.values }],
      };
    }
    if (kind === "departments") {
      if (!d.breaches.departments.length) {
        return { graphic: { type: "text", left: "center", top: "middle", style: { text: d.breaches.none, fill: "#616e7c", fontSize: 14 } } };
      }
      return {
        color: ["#d63939"], tooltip: { trigger: "axis" }, grid: grid,
        xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: d.breaches.departments, inverse: true },
        series: [{ name: d.breaches.series, type: "bar", data: d.breaches.by_department }],
      };
    }
    if (kind === "due") {
      return {
        color: ["#e8a317"], tooltip: { trigger: "axis" }, grid: grid,
        xAxis: { type: "category", data: d.due.hours }, yAxis: { type: "value", minInterval: 1 },
        series: [{ name: d.due.series, type: "bar", data: d.due.values, label: { show: true, position: "top" } }],
      };
    }
    return null;
  }

  function draw() {
    const source = document.getElementById("dashboard-data");
    if (!source || typeof echarts === "undefined") return;
    const data = JSON.parse(source.textContent);
    const charts = [];
    document.querySelectorAll("[data-chart]").forEach((el) => {
      const chosen = options(el.dataset.chart, data);
      if (!chosen) return;
      const chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(Object.assign({ animation: false }, chosen));
      el.dataset.drawn = "true";
      charts.push(chart);
    });
    window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
