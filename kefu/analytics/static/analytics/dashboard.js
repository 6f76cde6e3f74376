/* kefu analytics dashboards (issue #7): draws the charts whose data the page embeds with json_script.
   <div class="a-chart" data-chart="ID"> reads <script id="ID" type="application/json">:
   {kind: "trend"|"breakdown"|"hours", categories: [...], series: [{name, data, urls?}], target?, unit?,
    empty: "why there is nothing to draw"}. A click on a point or bar opens the records behind it. */
(function () {
  "use strict";
  var PALETTE = ["#1d6fd8", "#9aa7b4", "#d9822b", "#2f9e62"];

  function suffix(unit) {
    return { percent: "%", seconds: " s", hours: " h", per_1000: "‰" }[unit] || "";
  }

  function allEmpty(cfg) {
    if (!cfg.series || !cfg.series.length || !cfg.categories || !cfg.categories.length) return true;
    return cfg.series.every(function (s) {
      return s.data.every(function (v) { return v === null || v === undefined || v === 0 && cfg.kind === "hours"; });
    });
  }

  function option(cfg) {
    var unit = suffix(cfg.unit);
    var horizontal = cfg.kind === "breakdown";
    var series = cfg.series.map(function (s, i) {
      var out = {
        name: s.name, type: cfg.kind === "trend" ? "line" : "bar", data: s.data, connectNulls: false,
        itemStyle: { color: PALETTE[i % PALETTE.length] }, emphasis: { focus: "series" },
        symbolSize: 7, cursor: s.urls ? "pointer" : "default",
      };
      if (cfg.kind === "hours") out.stack = "calls";
      if (i === 0 && cfg.target !== null && cfg.target !== undefined) {
        out.markLine = {
          symbol: "none", silent: true, lineStyle: { color: "#c0392b", type: "dashed" },
          label: { position: "insideEndTop", formatter: (cfg.target_label || "") + " " + cfg.target + unit },
          data: [horizontal ? { xAxis: cfg.target } : { yAxis: cfg.target }],
        };
      }
      return out;
    });
    var cat = { type: "category", data: cfg.categories, axisLabel: { hideOverlap: true } };
    var val = { type: "value", axisLabel: { formatter: "{value}" + unit } };
    return {
      animation: false,
      color: PALETTE,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + unit; } },
      legend: { top: 0 },
      grid: { left: horizontal ? 140 : 56, right: 48, top: 36, bottom: 36, containLabel: false },
      xAxis: horizontal ? val : cat,
      yAxis: horizontal ? cat : val,
      series: series,
    };
  }

  function draw(el) {
    if (el.dataset.drawn === "1") return;
    var src = document.getElementById(el.dataset.chart);
    if (!src) return;
    var cfg = JSON.parse(src.textContent);
    el.dataset.drawn = "1";
    if (allEmpty(cfg)) {
      el.classList.add("a-chart-empty");
      var p = document.createElement("p");
      p.className = "a-empty-msg";
      p.textContent = cfg.empty || "—";
      el.appendChild(p);
      return;
    }
    if (!window.echarts) return;
    if (cfg.kind === "breakdown") el.style.height = Math.max(260, 36 * cfg.categories.length + 80) + "px";
    var chart = window.echarts.init(el, null, { renderer: "canvas", locale: document.documentElement.lang === "en" ? "EN" : "ZH" });
    chart.setOption(option(cfg));
    chart.on("click", function (params) {
      var s = cfg.series[params.seriesIndex];
      var url = s && s.urls ? s.urls[params.dataIndex] : cfg.url;
      if (url) window.location.href = url;
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.kefuChart = chart;
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".a-chart[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });
})();
