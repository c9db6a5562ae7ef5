/* The reports page's charts (apps/reports): stacked bars of each month by source or platform, one
   chart per currency (amounts of two currencies are never drawn on one axis). The data comes from
   the page's <script type="application/json" id="report-chart-data"> (json_script): the
   Content-Security-Policy allows no inline script. Amounts arrive in minor units and are divided
   by 10^exponent only to draw them; nothing is added here. */
"use strict";

(() => {
  const source = document.getElementById("report-chart-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const picker = document.querySelector("[data-report-figure]");
  const palette = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#e53935", "#00897b", "#6d4c41", "#3949ab", "#c0ca33", "#757575"];
  const charts = [];

  function datasets(series, figure, scale) {
    return series.map((item, index) => ({
      label: item.label,
      data: item[figure].map((minor) => minor / scale),
      backgroundColor: palette[index % palette.length],
      stack: "revenue",
    }));
  }

  function draw(figure) {
    charts.forEach((chart) => chart.destroy());
    charts.length = 0;
    document.querySelectorAll("canvas[data-report-chart]").forEach((canvas) => {
      const chart = data.charts.find((item) => item.currency === canvas.dataset.currency);
      if (!chart) return;
      const scale = 10 ** chart.exponent;
      const format = new Intl.NumberFormat(document.documentElement.lang || undefined, {
        minimumFractionDigits: chart.exponent,
        maximumFractionDigits: chart.exponent,
      });
      const series = canvas.dataset.reportChart === "platform" ? chart.by_platform : chart.by_source;
      charts.push(
        new window.Chart(canvas, {
          type: "bar",
          data: { labels: chart.months, datasets: datasets(series, figure, scale) },
          options: {
            responsive: true,
            maintainAspectRatio: false,
            animation: false,
            scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: (value) => format.format(value) } } },
            plugins: {
              legend: { position: "bottom" },
              tooltip: {
                callbacks: {
                  label: (item) => `${item.dataset.label}: ${chart.currency} ${format.format(item.parsed.y)}`,
                },
              },
            },
          },
        }),
      );
    });
  }

  draw(picker ? picker.value : "gross");
  if (picker) picker.addEventListener("change", () => draw(picker.value));
})();
