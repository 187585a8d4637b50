// Draws every chart of a page from the numbers the server put in its data-chart attribute.
// SVG renderer: the charts are part of the page's DOM, which the browser test reads.
(function () {
  "use strict";
  var GOOD = "#2f7d32", BAD = "#c62828", VOLUME = "#90a4ae", EXPECTED = "#f9a825";
  var pct = function (v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(2) + "%"; };

  function trend(spec) {
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["评价量", "差评", "好评率"] },
      grid: { left: 50, right: 60, top: 40, bottom: 30 },
      xAxis: { type: "category", data: spec.labels },
      yAxis: [
        { type: "value", name: "条" },
        { type: "value", name: "好评率", min: function (v) { return Math.max(0, Math.floor(v.min * 20) / 20); }, max: 1,
          axisLabel: { formatter: function (v) { return (v * 100).toFixed(0) + "%"; } } }
      ],
      series: [
        { name: "评价量", type: "bar", data: spec.evaluations, itemStyle: { color: VOLUME } },
        { name: "差评", type: "bar", data: spec.bad_reviews, itemStyle: { color: BAD } },
        { name: "好评率", type: "line", yAxisIndex: 1, data: spec.good_rate, connectNulls: false,
          itemStyle: { color: GOOD }, tooltip: { valueFormatter: pct } }
      ]
    };
  }

  function pie(spec) {
    return {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "65%"],
        data: spec.items.map(function (name, i) { return { name: name, value: spec.values[i] }; }),
        label: { formatter: "{b} {d}%" } }]
    };
  }

  function onset(spec) {
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["差评", "评价量", "预期差评"] },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: spec.labels },
      yAxis: { type: "value", name: "条/分钟" },
      series: [
        { name: "评价量", type: "line", data: spec.evaluations, itemStyle: { color: VOLUME }, showSymbol: false },
        { name: "差评", type: "bar", data: spec.bad_reviews, itemStyle: { color: BAD },
          markLine: { symbol: "none", data: [{ xAxis: spec.onset, label: { formatter: "开始" } }] } },
        { name: "预期差评", type: "scatter", data: spec.expected, itemStyle: { color: EXPECTED } }
      ]
    };
  }

  function spark(values) {
    return {
      animation: false,
      grid: { left: 1, right: 1, top: 2, bottom: 2 },
      xAxis: { type: "category", show: false, data: values.map(function (_, i) { return i; }) },
      yAxis: { type: "value", show: false, scale: true },
      series: [{ type: "line", data: values, showSymbol: false, connectNulls: true,
        lineStyle: { width: 1.5, color: GOOD } }]
    };
  }

  var builders = { trend: trend, pie: pie, onset: onset };
  var charts = [];
  document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(builders[spec.type](spec));
    charts.push(chart);
  });
  document.querySelectorAll(".spark[data-values]").forEach(function (el) {
    var chart = echarts.init(el, null, { renderer: "svg", width: 120, height: 28 });
    chart.setOption(spark(JSON.parse(el.getAttribute("data-values"))));
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
