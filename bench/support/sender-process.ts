import { z } from "zod";
import { exited, forkTypeScript, nextMessage } from "./child-process.js";

export interface SenderProcessOptions {
  readonly apiRoot: string;
  readonly token: string;
  /** Sends kept in flight (or waiting for their turn) at once. */
  readonly concurrency: number;
  readonly paidBroadcast?: boolean;
  /** Shares the limits through this Redis (`redisRateLimiter`), under `keyPrefix`. */
  readonly redis?: { readonly url: string; readonly keyPrefix: string };
  /** Chat ids are `chatBase + n`: give each process its own range. */
  readonly chatBase?: number;
}

/** What the child's sends were answered. */
export interface SenderTally {
  readonly delivered: number;
  readonly failed: number;
  readonly notSent: number;
}

export interface SenderProcess {
  /** Starts the callers, which send until `until` (epoch ms); resolves once the child is done and gone. */
  run(until: number): Promise<SenderTally>;
}

const ready = z.object({ type: z.literal("ready") });
const tally = z.object({
  type: z.literal("done"),
  delivered: z.number(),
  failed: z.number(),
  notSent: z.number(),
});

/**
 * `createTelegramSender` in a process of its own, with `concurrency` callers. Resolves once the
 * child has started (loading TypeScript takes a moment), so that runs are timed from `run`.
 */
export async function startSenderProcess(options: SenderProcessOptions): Promise<SenderProcess> {
  const child = forkTypeScript(new URL("./sender-child.ts", import.meta.url), [JSON.stringify(options)]);
  await nextMessage(child, ready);
  return {
    async run(until) {
      const done = nextMessage(child, tally);
      child.send({ type: "run", until });
      const { delivered, failed, notSent } = await done;
      await exited(child);
      return { delivered, failed, notSent };
    },
  };
}
