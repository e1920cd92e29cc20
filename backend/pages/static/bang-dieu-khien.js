// The province dashboard: one bar chart per field (Chart.js), drawn from the JSON the page
// carries; the table and the figures are already in the HTML (the page works without this).
(function () {
  "use strict";
  var me = document.currentScript;
  var charts = {};

  function draw() {
    var holder = document.getElementById("du-lieu-bieu-do");
    if (!holder || typeof Chart === "undefined") { return; }
    JSON.parse(holder.textContent).forEach(function (f) {
      var canvas = document.getElementById("bd-" + f.field);
      if (!canvas) { return; }
      charts[f.field] = new Chart(canvas, {
        type: "bar",
        data: {
          labels: ["Mô hình mới", "Cấp xã", "Cấp tỉnh"],
          datasets: [{ label: f.label, data: f.values,
                       backgroundColor: ["#0b5394", "#1a7f37", "#9a6700"] }]
        },
        options: { animation: false, plugins: { legend: { display: false },
                   title: { display: true, text: f.label } },
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
  }

  window.danvanDashboard = { charts: charts, province: me && me.dataset.province,
                             year: me && me.dataset.year, live: me && me.dataset.live };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
