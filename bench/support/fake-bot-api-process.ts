import { z } from "zod";
import type { FakeLatency } from "../../src/testing/fake-bot-api.js";
import { exited, forkTypeScript, nextMessage } from "./child-process.js";

export interface FakeBotApiProcessOptions {
  /** The simulated round trip of every answer (see `createFakeBotApi`'s `latency`). */
  readonly latency?: FakeLatency;
  /** When set, calls with another token get 401. */
  readonly token?: string;
}

export interface FakeBotApiProcess {
  /** `http://127.0.0.1:<port>`: a sender's `apiRoot`. */
  readonly url: string;
  /** Arrival times (epoch ms, by the child's system clock) of every `sendMessage` call so far, in arrival order. */
  arrivals(): Promise<number[]>;
  /** Closes the look-alike and ends the child. */
  close(): Promise<void>;
}

const listening = z.object({ type: z.literal("listening"), url: z.string() });
const arrivals = z.object({ type: z.literal("arrivals"), at: z.array(z.number()) });

/**
 * The Bot API look-alike in a process of its own, so that the arrival times it stamps are not
 * delayed by the event loop of the senders under measurement. Arrival times are epoch ms of the
 * same machine's clock: compare them with `Date.now()` in the parent.
 */
export async function startFakeBotApiProcess(
  options: FakeBotApiProcessOptions = {},
): Promise<FakeBotApiProcess> {
  const child = forkTypeScript(new URL("./fake-bot-api-child.ts", import.meta.url), [
    JSON.stringify(options),
  ]);
  const { url } = await nextMessage(child, listening);
  return {
    url,
    async arrivals() {
      const answer = nextMessage(child, arrivals);
      child.send({ type: "arrivals" });
      return (await answer).at;
    },
    async close() {
      if (child.connected) child.send({ type: "close" });
      await exited(child);
    },
  };
}
