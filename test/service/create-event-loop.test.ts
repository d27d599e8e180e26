import { createBroadcastService, type NewRecipient } from "broadcastkit";
import { createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import { RECIPIENTS_PER_TURN } from "../../src/service/event-loop.js";

/**
 * Counts turns of the event loop: one `setImmediate` callback runs per turn. The memory store does
 * no I/O, so without create's own pauses a whole creation would run between two turns.
 */
function countTurns(): { stop: () => number } {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop: () => {
      running = false;
      return turns;
    },
  };
}

const TOTAL = 5 * RECIPIENTS_PER_TURN;
/** The review's hostile template: every recipient's check renders it. */
const HOSTILE_TEXT = "{{a|".repeat(1000) + "}x{{b}}";
const list = (): NewRecipient[] =>
  Array.from({ length: TOTAL }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i, variables: { b: "x" } }));

function* synchronous(recipients: NewRecipient[]): Generator<NewRecipient> {
  yield* recipients;
}

async function* asynchronous(recipients: NewRecipient[]): AsyncGenerator<NewRecipient> {
  // Already resolved values: awaiting them alone never lets the event loop turn.
  for (const recipient of recipients) yield recipient;
}

const sources = [
  { name: "an array", wrap: (recipients: NewRecipient[]) => recipients },
  { name: "a synchronous iterable", wrap: synchronous },
  { name: "an async iterable", wrap: asynchronous },
];

describe.each(sources)("create with $name of recipients", ({ wrap }) => {
  it(`lets the event loop turn at least once every ${RECIPIENTS_PER_TURN} recipients it checks`, async () => {
    const service = createBroadcastService({ store: createMemoryStore(), queue: createMemoryQueue() });
    const turns = countTurns();
    const created = await service.create({ message: { text: HOSTILE_TEXT }, recipients: wrap(list()) });
    const counted = turns.stop();

    expect(created._unsafeUnwrap().totalRecipients).toBe(TOTAL);
    expect(counted).toBeGreaterThanOrEqual(TOTAL / RECIPIENTS_PER_TURN - 1);
  });

  it("still refuses the whole list for one bad recipient, found after the pauses", async () => {
    const service = createBroadcastService({ store: createMemoryStore(), queue: createMemoryQueue() });
    const recipients = list();
    recipients[TOTAL - 1] = { recipientId: 1, chatId: 1 };

    const created = await service.create({ message: { text: HOSTILE_TEXT }, recipients: wrap(recipients) });

    expect(created._unsafeUnwrapErr()).toMatchObject({
      type: "validation",
      issues: [{ path: `recipients.${TOTAL - 1}.recipientId`, message: "duplicate recipientId 1" }],
    });
    expect((await service.list())._unsafeUnwrap().items).toHaveLength(0);
  });
});
