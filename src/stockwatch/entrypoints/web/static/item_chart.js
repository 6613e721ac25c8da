// The item page's charts (Apache ECharts, vendored in this folder): stock over time with the
// T1/T2/T3 levels as they were at each moment (step lines), alert markers, daily sales.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var L = data.labels || {};
  var colors = { T1: "#f9a825", T2: "#ef6c00", T3: "#c62828", OUT: "#b71c1c", OK: "#2e7d32" };
  var box = document.getElementById("stock-chart");
  if (box) {
    var series = [{
      name: L.available || "available", type: "line", data: data.stock, showSymbol: true,
      symbolSize: 4, lineStyle: { width: 2, color: "#1565c0" }, itemStyle: { color: "#1565c0" },
      markLine: {  // purchase orders: placed (solid), expected (dashed), received (green)
        symbol: "none", silent: false,
        data: [].concat.apply([], data.orders.map(function (o) {
          var lines = [{ name: "#" + o.id + " +" + o.quantity, xAxis: o.ordered_at,
                         lineStyle: { color: "#6a1b9a", type: "solid" } }];
          if (o.received_at) lines.push({ name: "#" + o.id + " ✓", xAxis: o.received_at,
                                          lineStyle: { color: "#2e7d32", type: "solid" } });
          else lines.push({ name: "#" + o.id + " ETA", xAxis: o.expected_at,
                            lineStyle: { color: "#6a1b9a", type: "dashed" } });
          return lines;
        })),
        label: { formatter: "{b}" }
      },
      markArea: {  // promotion windows
        itemStyle: { color: "rgba(255, 193, 7, 0.15)" },
        data: data.promotions.map(function (p) { return [{ name: p[0], xAxis: p[1] }, { xAxis: p[2] }]; })
      }
    }];
    ["T1", "T2", "T3"].forEach(function (tier) {
      series.push({
        name: tier, type: "line", step: "end", data: data.levels[tier], showSymbol: false,
        lineStyle: { type: "dashed", width: 1.5, color: colors[tier] }, itemStyle: { color: colors[tier] }
      });
    });
    series.push({
      name: L.alerts || "alerts", type: "scatter", symbol: "pin", symbolSize: 22,
      data: data.alerts.map(function (a) {
        return { value: [a.at, a.available], itemStyle: { color: colors[a.tier] || "#555" },
                 kind: a.kind, tier: a.tier, detail: a.detail };
      }),
      tooltip: { formatter: function (p) { return p.data.kind + " " + p.data.tier + ": " + p.data.value[1]; } }
    });
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 56 },
      xAxis: { type: "time" },
      yAxis: { type: "value", min: 0 },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
    window.stockChart = chart;  // the browser tests read the drawn option from here
  }
  var salesBox = document.getElementById("sales-chart");
  if (salesBox && data.sales.length) {
    var sales = echarts.init(salesBox, null, { renderer: "canvas" });
    sales.setOption({
      animation: false, tooltip: { trigger: "axis" },
      grid: { left: 48, right: 16, top: 16, bottom: 24 },
      xAxis: { type: "category", data: data.sales.map(function (d) { return d[0]; }) },
      yAxis: { type: "value", min: 0 },
      series: [{ name: L.sales_qty || "sold", type: "bar", data: data.sales.map(function (d) { return d[1]; }),
                 itemStyle: { color: "#78909c" } }]
    });
    window.addEventListener("resize", function () { sales.resize(); });
    window.salesChart = sales;
  }
})();
