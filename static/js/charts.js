/* The creator's charts (the home page): Chart.js from static/vendor/, data from a json_script
   element (the Content-Security-Policy allows no inline script). Amounts arrive as decimal
   strings; they become numbers only to be drawn, and the tooltip prints the string itself. */
"use strict";

(() => {
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    const figures = JSON.parse(source.textContent);
    const series = figures[canvas.dataset.chartBy] || [];
    const title = canvas.dataset.chartBy === "byPlatform" ? figures.titles.platform : figures.titles.source;
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: figures.months,
        datasets: series.map((item, index) => ({
          label: item.label,
          data: item.data.map(Number),
          text: item.data,
          backgroundColor: COLOURS[index % COLOURS.length],
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
        plugins: {
          title: { display: true, text: `${title} (${figures.currency})` },
          tooltip: {
            callbacks: {
              label: (context) => `${context.dataset.label}: ${figures.currency} ${context.dataset.text[context.dataIndex]}`,
            },
          },
        },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
