import { rankedReasons } from "../failure-reasons.js";
import type { DashboardCatalog } from "../messages.js";
import { el } from "./dom.js";

/**
 * Failures by reason as bars: one `<meter>` per error text, scaled to the most frequent. The same
 * markup the server renders first; the text is a text node whatever it holds.
 */
export function renderFailureBars(
  list: HTMLElement,
  counts: Readonly<Record<string, number>>,
  catalog: DashboardCatalog,
): void {
  const reasons = rankedReasons(counts);
  const top = reasons[0]?.[1] ?? 0;
  const items = reasons.map(([reason, count]) => {
    const meter = el("meter", { className: "bar" });
    meter.min = 0;
    meter.max = top;
    meter.value = count;
    return el(
      "li",
      {},
      el("span", { className: "reason" }, reason),
      meter,
      el("span", { className: "count" }, count),
    );
  });
  list.replaceChildren(
    ...(items.length > 0 ? items : [el("li", { className: "empty" }, catalog.charts.noFailures)]),
  );
}
