import uPlot from "uplot";
import type { DashboardCatalog } from "../messages.js";

interface Sample {
  readonly at: number;
  readonly sent: number;
  readonly failed: number;
}

/** Rates are measured over this trailing window: the worker writes outcomes about once a second. */
const WINDOW_MS = 3_000;
/** A rate over less than this is mostly the worker's write batching: no point is drawn from it. */
const MIN_SPAN_MS = 1_000;
const MAX_POINTS = 900;

export interface RateChart {
  /** Counts as the progress stream reported them, at the moment they arrived. */
  record(sent: number, failed: number, at?: number): void;
  readonly points: () => number;
}

/**
 * The sending rate over time, from the counts the progress stream reports while the page is open
 * (the store keeps no per-send times, so there is no history to draw from before). Drawn with
 * uPlot: a canvas, so no text drawn in it is ever markup.
 */
export function createRateChart(container: HTMLElement, catalog: DashboardCatalog): RateChart {
  const samples: Sample[] = [];
  const xs: number[] = [];
  const sentRates: number[] = [];
  const failedRates: number[] = [];
  const size = () => ({ width: Math.max(280, container.clientWidth), height: 220 });
  const plot = new uPlot(
    {
      ...size(),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [{}, { label: "msg/s", size: 56 }],
      series: [
        {},
        { label: catalog.charts.rateSeriesSent, stroke: "#1f7a4d", fill: "rgba(31,122,77,0.12)", width: 2 },
        { label: catalog.charts.rateSeriesFailed, stroke: "#b3261e", width: 2 },
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    },
    [xs, sentRates, failedRates],
    container,
  );
  window.addEventListener("resize", () => plot.setSize(size()));

  return {
    record(sent, failed, at = Date.now()) {
      samples.push({ at, sent, failed });
      while (samples.length > 2 && (samples[1]?.at ?? at) <= at - WINDOW_MS) samples.shift();
      const first = samples[0];
      if (first === undefined || samples.length < 2 || at - first.at < MIN_SPAN_MS) return;
      const seconds = (at - first.at) / 1000;
      xs.push(at / 1000);
      sentRates.push(Math.max(0, (sent - first.sent) / seconds));
      failedRates.push(Math.max(0, (failed - first.failed) / seconds));
      if (xs.length > MAX_POINTS) {
        xs.shift();
        sentRates.shift();
        failedRates.shift();
      }
      plot.setData([xs, sentRates, failedRates]);
      container.dataset.points = String(xs.length);
    },
    points: () => xs.length,
  };
}
