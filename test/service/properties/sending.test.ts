import { fc } from "@fast-check/vitest";
import {
  type Broadcast,
  finalStatus,
  idempotencyKey,
  pendingCount,
  processedPct,
  progressPct,
  type Recipient,
} from "broadcastkit";
import type { FakeSender } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import { storeFactories } from "../../support/stores.js";
import {
  type Behaviour,
  behavingSender,
  callsPerRecipient,
  observedStore,
  recipientsFor,
  rig,
  runsFor,
  runToTheEnd,
  unwrap,
  withStore,
} from "./harness.js";

/**
 * One broadcast sent to the end by the real service and worker, with chats that answer in every
 * way but a refused message (that one pauses; the model-based test covers it).
 */
const scenarioArb = fc.record({
  behaviours: fc.array(fc.constantFrom<Behaviour>("ok", "blocked", "down", "flaky", "throttled"), {
    maxLength: 30,
  }),
  batchSize: fc.integer({ min: 1, max: 10 }),
});
type Scenario = { behaviours: Behaviour[]; batchSize: number };

interface Run {
  readonly broadcast: Broadcast;
  /** Every state of the broadcast the store handed out or stored, in order. */
  readonly seen: Broadcast[];
  readonly recipients: Recipient[];
  readonly sender: FakeSender;
  /** A draft broadcast to the same recipient ids on other chats: nobody may message it. */
  readonly bystander: Broadcast;
}

async function sendToTheEnd(
  store: Parameters<typeof rig>[0],
  { behaviours, batchSize }: Scenario,
): Promise<Run> {
  const seen: Broadcast[] = [];
  const r = rig(observedStore(store, (b) => seen.push(b)));
  const sender = behavingSender(behaviours);
  const worker = r.workerWith(sender, { batchSize });
  r.queue.consume((job) => worker.handle(job));
  const bystander = unwrap(
    await r.service.create({
      message: { text: "Not this one" },
      recipients: recipientsFor(5).map((x) => ({ ...x, chatId: Number(x.chatId) + 4000 })),
    }),
  );
  const created = unwrap(
    await r.service.create({ message: { text: "Hi" }, recipients: recipientsFor(behaviours.length) }),
  );
  unwrap(await r.service.start(created.id));
  await runToTheEnd(r);
  const mine = seen.filter((b) => b.id === created.id);
  return {
    broadcast: await r.broadcast(created.id),
    seen: mine,
    recipients: await r.recipients(created.id),
    sender,
    bystander,
  };
}

/** What the policy allows each behaviour: calls made, attempts counted, and the end state. */
const EXPECTED: Record<Exclude<Behaviour, "content">, { calls: number; attempts: number; state: string }> = {
  ok: { calls: 1, attempts: 1, state: "sent" },
  blocked: { calls: 1, attempts: 1, state: "failed" },
  down: { calls: 4, attempts: 4, state: "failed" },
  flaky: { calls: 2, attempts: 2, state: "sent" },
  // The 429 is throttling, not a failure of the recipient: it uses no attempt.
  throttled: { calls: 2, attempts: 1, state: "sent" },
};

describe.each(storeFactories)("sending a broadcast to the end on the $name store", (factory) => {
  const property = (check: (run: Run, scenario: Scenario) => void) =>
    fc.assert(
      fc.asyncProperty(scenarioArb, (scenario) =>
        withStore(factory, async (store) => check(await sendToTheEnd(store, scenario), scenario)),
      ),
      { numRuns: runsFor(factory, 150, 5) },
    );

  it("keeps counters adding up in every state it stores: sent + failed + pending = total", () =>
    property(({ seen, broadcast, recipients }) => {
      for (const b of seen) {
        expect(b.sentCount).toBeGreaterThanOrEqual(0);
        expect(b.failedCount).toBeGreaterThanOrEqual(0);
        expect(pendingCount(b)).toBeGreaterThanOrEqual(0);
        expect(Object.values(b.errorCounts).reduce((sum, n) => sum + n, 0)).toBe(b.failedCount);
      }
      const inState = (state: string) => recipients.filter((x) => x.state === state).length;
      expect(recipients).toHaveLength(broadcast.totalRecipients);
      expect([broadcast.sentCount, broadcast.failedCount, pendingCount(broadcast)]).toEqual([
        inState("sent"),
        inState("failed"),
        inState("pending"),
      ]);
    }));

  it("never lets processed (nor delivered, nor failed) go backwards during a run", () =>
    property(({ seen }) => {
      // In the order the store made the states (`version`): the worker's status reads run beside
      // its writes, so a read that started first may answer last with the older state.
      const inOrder = [...seen].sort((a, b) => a.version - b.version);
      inOrder.slice(1).forEach((b, i) => {
        const previous = inOrder[i]!;
        expect(b.sentCount).toBeGreaterThanOrEqual(previous.sentCount);
        expect(b.failedCount).toBeGreaterThanOrEqual(previous.failedCount);
        expect(processedPct(b)).toBeGreaterThanOrEqual(processedPct(previous));
        if (b.version === previous.version)
          expect([b.sentCount, b.failedCount]).toEqual([previous.sentCount, previous.failedCount]);
      });
    }));

  it("shows 100 % processed, and a final status, only when nothing is pending", () =>
    property(({ seen, broadcast }) => {
      for (const b of seen) {
        if (b.totalRecipients > 0) expect(processedPct(b) === 100).toBe(pendingCount(b) === 0);
        expect(progressPct(b)).toBeLessThanOrEqual(processedPct(b));
        if (["sent", "completed", "failed"].includes(b.status)) expect(pendingCount(b)).toBe(0);
      }
      expect(pendingCount(broadcast)).toBe(0);
      expect(broadcast.status).toBe(finalStatus(broadcast));
      expect(broadcast.completedAt).not.toBeNull();
    }));

  it("gives each recipient exactly the attempts the policy allows: permanent 1, transient at most 4", () =>
    property(({ sender, recipients }, { behaviours }) => {
      const calls = callsPerRecipient(sender);
      for (const recipient of recipients) {
        const behaviour = behaviours[Number(recipient.recipientId) - 1] as Exclude<Behaviour, "content">;
        const expected = EXPECTED[behaviour];
        expect({
          behaviour,
          calls: calls.get(recipient.recipientId) ?? 0,
          attempts: recipient.attempts,
        }).toEqual({
          behaviour,
          calls: expected.calls,
          attempts: expected.attempts,
        });
        expect(recipient.state).toBe(expected.state);
      }
    }));

  it("messages nobody outside the list, and each recipient only at its own chat", () =>
    property(({ sender, broadcast, bystander }, { behaviours }) => {
      for (const call of sender.calls) {
        expect(call.broadcastId).toBe(broadcast.id);
        expect(call.broadcastId).not.toBe(bystander.id);
        expect(Number(call.recipientId)).toBeGreaterThanOrEqual(1);
        expect(Number(call.recipientId)).toBeLessThanOrEqual(behaviours.length);
        expect(call.chatId).toBe(1000 + Number(call.recipientId));
        expect(call.text).toBe("Hi");
        expect(call.idempotencyKey).toBe(idempotencyKey(broadcast.id, call.recipientId));
      }
    }));
});
