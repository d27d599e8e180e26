import type { BroadcastStatus } from "../../core/types.js";
import { ACTION_ROUTES, actionAllowed, DASHBOARD_ACTIONS, type DashboardAction } from "../actions.js";
import { callApi } from "./api.js";
import type { PageConfig } from "./config.js";
import { byId, maybeById, say } from "./dom.js";
import { renderFailureBars } from "./failures.js";
import { createRateChart, type RateChart } from "./rate-chart.js";
import { refreshRecipients } from "./recipients.js";
import { showTime } from "./time.js";
import type { BroadcastWire, ProgressWire } from "./wire.js";

const FINISHED: readonly BroadcastStatus[] = ["sent", "completed", "failed", "cancelled"];
const COUNT_FIELDS = [
  "total_recipients",
  "sent_count",
  "failed_count",
  "pending_count",
  "cancelled_count",
  "progress_pct",
  "processed_pct",
] as const;
const TIME_FIELDS = ["created_at", "scheduled_at", "sent_at", "completed_at"] as const;

/**
 * One broadcast's page, kept live: the progress stream (server-sent events, no polling) updates
 * counts, bar, status, timestamps, the actions allowed, the rate chart and, when failures change,
 * the bars of failures by reason.
 */
export function startDetailPage(config: PageConfig, id: number): void {
  const { catalog } = config;
  const alert = byId("action-error", HTMLElement);
  const notice = byId("action-notice", HTMLElement);
  const live = byId("live", HTMLElement);
  const bars = byId("failure-bars", HTMLElement);
  const stale = byId("recipients-stale", HTMLElement);
  const chartBox = byId("rate-chart", HTMLElement);
  const rateNote = byId("rate-note", HTMLElement);
  const main = byId("broadcast", HTMLElement);
  const recipients = byId("recipients", HTMLElement);
  const initialKey = main.dataset.snapshot ?? "";
  let status = (main.dataset.status ?? "draft") as BroadcastStatus;
  let failedShown = Number(main.dataset.failedCount ?? "0");
  let chart: RateChart | null = null;
  let source: EventSource | null = null;
  let refreshing: Promise<void> | null = null;
  let refreshAgain = false;
  /** Whether the recipients may differ from the table: the counts or the status moved since it was read. */
  let changed = false;

  /** Puts the recipient rows in step with what the page now shows, or says they are not. */
  const catchUpRecipients = async () => {
    if (!changed) return;
    changed = false;
    if (!(await refreshRecipients(config, id, recipients))) stale.hidden = false;
  };

  const field = (name: string) => main.querySelectorAll<HTMLElement>(`[data-field="${name}"]`);

  const showActions = () => {
    for (const action of DASHBOARD_ACTIONS) {
      const button = maybeById(`action-${action}`, HTMLButtonElement);
      if (button === null) continue;
      const allowed = actionAllowed(action, status);
      button.disabled = !allowed;
      button.title = allowed ? "" : catalog.actions.notNow(catalog.status[status]);
    }
    byId("schedule-at", HTMLInputElement).disabled = !actionAllowed("schedule", status);
    byId("include-permanent", HTMLInputElement).disabled = !actionAllowed("retry", status);
  };

  const showAverageRate = (p: ProgressWire) => {
    if (chart !== null && chart.points() > 0) {
      rateNote.hidden = true;
      return;
    }
    const started = p.sent_at === null ? Number.NaN : Date.parse(p.sent_at);
    const ended = p.completed_at === null ? Number.NaN : Date.parse(p.completed_at);
    const seconds = (ended - started) / 1000;
    const processed = p.sent_count + p.failed_count;
    rateNote.textContent =
      Number.isFinite(seconds) && seconds > 0 && processed > 0
        ? `${catalog.charts.averageRate((processed / seconds).toFixed(1), seconds.toFixed(1))}. ${catalog.charts.rateNote}`
        : catalog.charts.rateNote;
  };

  const apply = (p: ProgressWire) => {
    status = p.status;
    main.dataset.status = p.status;
    for (const badge of field("status")) {
      badge.textContent = catalog.status[p.status];
      badge.className = `badge badge-${p.status}`;
    }
    for (const name of COUNT_FIELDS) for (const node of field(name)) node.textContent = String(p[name]);
    for (const node of field("error_summary")) node.textContent = p.error_summary ?? "—";
    for (const name of TIME_FIELDS) {
      const value = p[name];
      for (const time of main.querySelectorAll<HTMLTimeElement>(`time[data-field="${name}"]`)) {
        const row = time.closest<HTMLElement>("[data-optional]");
        if (row !== null) row.hidden = value === null;
        if (value === null) continue;
        time.dateTime = value;
        showTime(time, config.locale);
      }
    }
    const bar = byId("progress", HTMLProgressElement);
    bar.value = p.processed_pct;
    byId("progress-label", HTMLElement).textContent = catalog.progressLabel(p.processed_pct, p.progress_pct);
    showActions();
    showAverageRate(p);
    if (`${p.status}:${p.sent_count}:${p.failed_count}` !== initialKey) changed = true;
    if (p.failed_count !== failedShown) void refreshFailures();
  };

  /** Re-reads the broadcast for its error counts; one read at a time, one more if asked meanwhile. */
  const refreshFailures = async (): Promise<void> => {
    if (refreshing !== null) {
      refreshAgain = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        refreshAgain = false;
        const answer = await callApi<BroadcastWire>(config, "GET", `${id}/`);
        if (!answer.ok) break;
        failedShown = answer.data.failed_count;
        renderFailureBars(bars, answer.data.error_counts, catalog);
      } while (refreshAgain);
    })();
    await refreshing;
    refreshing = null;
  };

  const watch = () => {
    if (source !== null) return;
    const stream = new EventSource(`${config.api}/${id}/progress/stream/`, { withCredentials: true });
    source = stream;
    live.dataset.state = "watching";
    live.textContent = catalog.live.watching;
    stream.addEventListener("progress", (event) => {
      const progress = JSON.parse((event as MessageEvent<string>).data) as ProgressWire;
      live.dataset.state = "watching";
      live.textContent = catalog.live.watching;
      if (progress.status === "sending" || chart !== null) {
        chart ??= createRateChart(chartBox, catalog);
        chart.record(progress.sent_count, progress.failed_count);
      }
      apply(progress);
    });
    stream.addEventListener("done", () => {
      stream.close();
      source = null;
      void catchUpRecipients();
      live.dataset.state = "finished";
      live.textContent = catalog.live.finished;
    });
    stream.addEventListener("error", (event) => {
      // The server's own `error` event carries data and ends the stream; a connection error has
      // none, and the browser reconnects by itself.
      if (event instanceof MessageEvent && typeof event.data === "string") {
        stream.close();
        source = null;
        live.dataset.state = "failed";
        const detail = (() => {
          try {
            return String((JSON.parse(event.data) as { message?: unknown }).message ?? "");
          } catch {
            return "";
          }
        })();
        live.textContent =
          detail === "" ? catalog.errors.streamFailed : `${catalog.errors.streamFailed}: ${detail}`;
        return;
      }
      if (stream.readyState !== EventSource.CLOSED) {
        live.dataset.state = "reconnecting";
        live.textContent = catalog.live.reconnecting;
      }
    });
  };

  const run = async (action: DashboardAction, body: unknown, button: HTMLButtonElement) => {
    say(alert, "");
    say(notice, "");
    const buttons = main.querySelectorAll<HTMLButtonElement>("button[data-action]");
    for (const b of buttons) b.disabled = true;
    main.setAttribute("aria-busy", "true");
    const label = button.textContent;
    button.textContent = catalog.actions.working;
    const answer = await callApi<{ message?: string }>(
      config,
      "POST",
      `${id}/${ACTION_ROUTES[action]}/`,
      body,
    );
    button.textContent = label;
    main.removeAttribute("aria-busy");
    if (!answer.ok) say(alert, answer.message);
    else if (typeof answer.data.message === "string") say(notice, answer.data.message);
    const now = await callApi<BroadcastWire>(config, "GET", `${id}/`);
    if (now.ok) {
      apply(now.data);
      failedShown = now.data.failed_count;
      renderFailureBars(bars, now.data.error_counts, catalog);
      if (!FINISHED.includes(now.data.status)) watch();
      void catchUpRecipients();
    } else {
      showActions();
    }
  };

  const dialog = byId("confirm-cancel", HTMLDialogElement);
  for (const button of main.querySelectorAll<HTMLButtonElement>("button[data-action]")) {
    const action = button.dataset.action as DashboardAction;
    button.addEventListener("click", () => {
      if (action === "cancel") {
        const pending = main.querySelector<HTMLElement>('[data-field="pending_count"]')?.textContent ?? "0";
        byId("confirm-cancel-text", HTMLElement).textContent = catalog.actions.confirmCancel(
          id,
          Number(pending),
        );
        dialog.showModal();
        return;
      }
      if (action === "schedule") {
        const input = byId("schedule-at", HTMLInputElement);
        const at = new Date(input.value);
        if (input.value === "" || Number.isNaN(at.getTime())) {
          input.reportValidity();
          input.focus();
          return;
        }
        void run(action, { scheduled_at: at.toISOString() }, button);
        return;
      }
      if (action === "retry") {
        void run(action, { include_permanent: byId("include-permanent", HTMLInputElement).checked }, button);
        return;
      }
      void run(action, {}, button);
    });
  }
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "confirm") void run("cancel", {}, byId("action-cancel", HTMLButtonElement));
  });

  showActions();
  watch();
}
