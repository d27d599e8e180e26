import type { Result } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import type { Progress } from "../core/progress.js";
import { FINISHED_STATUSES } from "../core/types.js";
import { type HttpError, internalError } from "./errors.js";
import type { ErrorBody } from "./responses.js";
import { progressJson } from "./serialize.js";

export interface ProgressStreamOptions {
  /** Progress read before the response started: it is the first event. */
  readonly initial: Progress;
  readonly poll: () => PromiseLike<Result<Progress, BroadcastError>>;
  /**
   * Progress once the sends still in flight have settled: read before `done`, so the last event
   * carries the final counts (a cancel stops new sends at once, but those in flight still count).
   */
  readonly settled: () => PromiseLike<Result<Progress, BroadcastError>>;
  readonly pollMs: number;
  /** The client went away: stop polling. */
  readonly signal: AbortSignal;
  /** Turns a failed poll into the `error` event's data (and logs its cause). */
  readonly describeError: (error: HttpError) => ErrorBody;
}

/** Proxies drop connections that stay silent for long; a comment line every ~15 s keeps them open. */
const KEEP_ALIVE_MS = 15_000;

const encoder = new TextEncoder();
const sseEvent = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener("abort", wake, { once: true });
  });
}

/**
 * Server-sent events: a `progress` event whenever the progress data changes, polled every `pollMs`.
 * After a final status (sent, completed, failed, cancelled) it waits for the sends still in flight
 * to settle, sends the final `progress` if it changed, then `done`, and closes; a browser's
 * `EventSource` should close on `done`, or it reconnects. A failed poll sends `error` and closes.
 */
export function progressEventStream(options: ProgressStreamOptions): ReadableStream<Uint8Array> {
  const stop = new AbortController();
  const onClientGone = () => stop.abort();
  const quietPollsBeforeKeepAlive = Math.max(1, Math.ceil(KEEP_ALIVE_MS / options.pollMs));

  return new ReadableStream<Uint8Array>({
    start(controller) {
      options.signal.addEventListener("abort", onClientGone, { once: true });
      if (options.signal.aborted) stop.abort();

      const write = (text: string): void => {
        if (stop.signal.aborted) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop.abort();
        }
      };

      const run = async (): Promise<void> => {
        let progress = options.initial;
        let lastSent = "";
        let quietPolls = 0;
        for (;;) {
          const data = progressJson(progress);
          const serialized = JSON.stringify(data);
          if (serialized !== lastSent) {
            write(sseEvent("progress", data));
            lastSent = serialized;
            quietPolls = 0;
          } else if (++quietPolls >= quietPollsBeforeKeepAlive) {
            write(": keep-alive\n\n");
            quietPolls = 0;
          }
          if (FINISHED_STATUSES.includes(progress.status)) {
            const final = await options.settled();
            if (final.isErr()) {
              write(sseEvent("error", options.describeError(final.error)));
              return;
            }
            const finalData = JSON.stringify(progressJson(final.value));
            if (finalData !== lastSent) write(`event: progress\ndata: ${finalData}\n\n`);
            write(sseEvent("done", { status: final.value.status }));
            return;
          }
          await sleep(options.pollMs, stop.signal);
          if (stop.signal.aborted) return;
          const next = await options.poll();
          if (next.isErr()) {
            write(sseEvent("error", options.describeError(next.error)));
            return;
          }
          progress = next.value;
        }
      };

      void run()
        .catch((cause: unknown) => write(sseEvent("error", options.describeError(internalError(cause)))))
        .finally(() => {
          options.signal.removeEventListener("abort", onClientGone);
          stop.abort();
          try {
            controller.close();
          } catch {
            // The client cancelled the stream first.
          }
        });
    },
    cancel() {
      stop.abort();
    },
  });
}

export const EVENT_STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  // nginx buffers responses by default, which would hold events back until the stream ends.
  "x-accel-buffering": "no",
};
