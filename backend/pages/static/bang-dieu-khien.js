// The province dashboard: one bar chart per field (Chart.js), drawn from the JSON the page
// carries, and live updates: the quotaChanged subscription over graphql-transport-ws
// (/graphql, the session cookie signs it in) rewrites a tenant's row when it changes and
// redraws the charts. The table and the figures are already in the HTML: the page works
// without this script.
(function () {
  "use strict";
  var me = document.currentScript;
  var province = me.dataset.province, year = parseInt(me.dataset.year, 10);
  var charts = {};
  var STATUS = { MET: "Đạt", MISSED: "Không đạt", IN_PROGRESS: "Đang thực hiện" };
  var QUERY = "subscription($code: ID!, $year: Int!) { quotaChanged(provinceCode: $code, " +
    "year: $year) { tenant { id } newModels newModelsTarget recognizedTenantLevel " +
    "recognizedTenantLevelTarget recognizedProvinceLevel recognizedProvinceLevelTarget " +
    "unitsWithoutRegistration status atRisk } }";

  function draw(data) {
    if (typeof Chart === "undefined") { return; }
    data.forEach(function (f) {
      var chart = charts[f.field];
      if (chart) {
        chart.data.datasets[0].data = f.values;
        chart.update();
        return;
      }
      var canvas = document.getElementById("bd-" + f.field);
      if (!canvas) { return; }
      charts[f.field] = new Chart(canvas, {
        type: "bar",
        data: { labels: ["Mô hình mới", "Cấp xã", "Cấp tỉnh"],
                datasets: [{ label: f.label, data: f.values,
                             backgroundColor: ["#0b5394", "#1a7f37", "#9a6700"] }] },
        options: { animation: false, plugins: { legend: { display: false },
                   title: { display: true, text: f.label } },
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
  }

  function text(cell, value) {
    if (cell && cell.textContent !== value) { cell.textContent = value; return true; }
    return false;
  }

  function update(q) {
    var row = document.getElementById("xa-" + q.tenant.id);
    if (!row) { return; }
    var cell = function (name) { return row.querySelector('[data-cot="' + name + '"]'); };
    var changed = text(cell("newModels"), q.newModels + "/" + q.newModelsTarget);
    changed = text(cell("recognizedTenantLevel"),
                   q.recognizedTenantLevel + "/" + q.recognizedTenantLevelTarget) || changed;
    changed = text(cell("recognizedProvinceLevel"),
                   q.recognizedProvinceLevel + "/" + q.recognizedProvinceLevelTarget) || changed;
    changed = text(cell("unitsWithoutRegistration"), String(q.unitsWithoutRegistration)) ||
      changed;
    var status = cell("status");
    if (status) {
      var html = '<span class="nhan ' + q.status + '">' + STATUS[q.status] + "</span>" +
        (q.atRisk ? ' <span class="nhan rui-ro">Nguy cơ</span>' : "");
      if (status.innerHTML !== html) { status.innerHTML = html; changed = true; }
    }
    if (changed) {
      row.classList.remove("cap-nhat");
      void row.offsetWidth;
      row.classList.add("cap-nhat");
    }
    refreshCharts();
  }

  var pending = null;
  function refreshCharts() {
    if (pending) { return; }
    pending = setTimeout(function () {
      pending = null;
      fetch("/tinh/" + province + "/bieu-do?nam=" + year, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (!body) { return; }
          draw(body.charts);
          Object.keys(body.totals).forEach(function (key) {
            var el = document.querySelector('[data-tong="' + key + '"]');
            if (el) { el.textContent = body.totals[key]; }
          });
        });
    }, 300);
  }

  function live() {
    var status = document.getElementById("truc-tiep");
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/graphql", "graphql-transport-ws");
    ws.onopen = function () { ws.send(JSON.stringify({ type: "connection_init", payload: {} })); };
    ws.onmessage = function (event) {
      var m = JSON.parse(event.data);
      if (m.type === "connection_ack") {
        ws.send(JSON.stringify({ id: "quota", type: "subscribe", payload: {
          query: QUERY, variables: { code: province, year: year } } }));
        if (status) { status.textContent = "Số liệu hiện tại, cập nhật trực tiếp."; }
        window.danvanDashboard.connected = true;
      } else if (m.type === "ping") {
        ws.send(JSON.stringify({ type: "pong" }));
      } else if (m.type === "next" && m.payload && m.payload.data) {
        update(m.payload.data.quotaChanged);
      }
    };
    ws.onclose = function () {
      window.danvanDashboard.connected = false;
      if (status) { status.textContent = "Mất kết nối cập nhật trực tiếp; đang thử lại…"; }
      setTimeout(live, 3000);
    };
  }

  window.danvanDashboard = { charts: charts, province: province, year: year,
                             connected: false };
  function start() {
    var holder = document.getElementById("du-lieu-bieu-do");
    if (holder) { draw(JSON.parse(holder.textContent)); }
    if (me.dataset.live === "yes" && "WebSocket" in window) { live(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
