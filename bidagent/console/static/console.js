// bidagent console: the CSRF header on every htmx request, self-submitting filters, and the
// uPlot charts drawn from the JSON blocks the pages embed. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
    // A filter left empty is no filter: keep it out of the URL that htmx pushes to the history.
    if (event.detail.verb === "get") {
      var params = event.detail.parameters;
      Object.keys(params).forEach(function (key) {
        if (params[key] === "") { delete params[key]; }
      });
    }
  });

  function bindAutosubmit(root) {
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      if (el.dataset.autosubmitBound) { return; }
      el.dataset.autosubmitBound = "true";
      el.addEventListener("change", function () {
        if (el.form && el.form.requestSubmit) { el.form.requestSubmit(); } else if (el.form) { el.form.submit(); }
      });
    });
  }

  // Vertical lines on the days bidagent changed something (overview) or at the change (a change's page).
  function markerPlugin(markers, label) {
    return {
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "rgba(200, 80, 0, 0.55)";
          ctx.setLineDash([4, 4]);
          ctx.lineWidth = 1;
          markers.forEach(function (m) {
            var x = Math.round(u.valToPos(m.day, "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) { return; }
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          });
          ctx.restore();
        }]
      }
    };
  }

  var money = function (u, v) { return v == null ? "–" : v.toFixed(2); };
  var pct = function (u, v) { return v == null ? "–" : (v * 100).toFixed(1) + "%"; };

  var KINDS = {
    money: function (d) {
      return { series: [{}, { label: "Spend", stroke: "#c0392b", value: money }, { label: "Sales", stroke: "#2471a3", value: money }],
               data: [d.days, d.spend, d.sales], axes: [{}, { values: function (u, vs) { return vs.map(function (v) { return v.toFixed(0); }); } }] };
    },
    acos: function (d) {
      return { series: [{}, { label: "ACoS", stroke: "#7d3c98", value: pct, scale: "pct" }, { label: "Orders", stroke: "#229954", scale: "n" }],
               data: [d.days, d.acos, d.orders],
               axes: [{}, { scale: "pct", values: function (u, vs) { return vs.map(function (v) { return (v * 100).toFixed(0) + "%"; }); } },
                      { scale: "n", side: 1, grid: { show: false } }] };
    },
    profit: function (d) {
      return { series: [{}, { label: "Profit", stroke: "#117a65", value: money, fill: "rgba(17,122,101,0.08)" }], data: [d.days, d.profit], axes: [{}, {}] };
    },
    entity: function (d) {
      return { series: [{}, { label: "Spend", stroke: "#c0392b", value: money }, { label: "Sales", stroke: "#2471a3", value: money },
                        { label: "Clicks", stroke: "#909497", scale: "n" }],
               data: [d.days, d.spend, d.sales, d.clicks], axes: [{}, {}, { scale: "n", side: 1, grid: { show: false } }] };
    }
  };

  function drawCharts(root) {
    if (typeof uPlot === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn === "true") { return; }
      var source = document.getElementById(el.dataset.series);
      var kind = KINDS[el.dataset.chart];
      if (!source || !kind) { return; }
      var d = JSON.parse(source.textContent);
      var spec = kind(d);
      var opts = {
        width: Math.max(el.clientWidth, 320), height: 240, series: spec.series, axes: spec.axes,
        scales: { x: { time: true } }, plugins: [markerPlugin(d.markers || [])]
      };
      el.textContent = "";
      new uPlot(opts, spec.data, el);
      el.dataset.drawn = "true";
    });
  }

  function ready(root) { bindAutosubmit(root); drawCharts(root); }
  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:afterSettle", function (event) { ready(event.target); });
})();
