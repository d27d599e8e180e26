/**
 * Recipients create checks between two turns of the event loop. Checking one costs a render of
 * the message (at most 4,096 template characters, linear), so a turn stays within a few
 * milliseconds even for the largest template, while a list of a million still creates quickly.
 */
export const RECIPIENTS_PER_TURN = 2_000;

/**
 * Lets the event loop run (timers, I/O, other requests) before going on: `setImmediate` where the
 * runtime has it (Node, Bun), a zero-delay timer elsewhere (Deno, edge runtimes).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof globalThis.setImmediate === "function") globalThis.setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
