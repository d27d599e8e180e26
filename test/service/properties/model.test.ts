import { fc } from "@fast-check/vitest";
import type { BroadcastError, BroadcastStatus, BroadcastStore, FailureKind, SendWorker } from "broadcastkit";
import type { FakeSender } from "broadcastkit/memory";
import type { Result } from "neverthrow";
import { describe, expect, it } from "vitest";
import { boundStore } from "../../support/bound-store.js";
import { storeFactories } from "../../support/stores.js";
import {
  answerOf,
  type Behaviour,
  behavingSender,
  type Rig,
  recipientsFor,
  rig,
  runsFor,
  runToTheEnd,
  START,
  unwrap,
  withStore,
} from "./harness.js";

/**
 * The service and worker against a deliberately simple model: a status, three timestamps and, per
 * recipient, its state, attempts and when it may be tried again. Every command is applied to both;
 * after each one the stored broadcast and recipients must equal the model's.
 */

interface ModelRecipient {
  readonly behaviour: Behaviour;
  state: "pending" | "sent" | "failed";
  attempts: number;
  /** Calls its chat received so far: the fake chat answers by this count. */
  calls: number;
  /** Epoch ms before which it is not tried again; 0 when it is not waiting. */
  notBefore: number;
  failedKind: FailureKind | null;
}

interface Model {
  status: BroadcastStatus;
  scheduledAt: number | null;
  sentAt: number | null;
  completedAt: number | null;
  pausedBecause: "manual" | "content_refused" | null;
  readonly recipients: ModelRecipient[];
}

interface Real {
  readonly rig: Rig;
  readonly id: number;
  readonly sender: FakeSender;
}

const MAX_RETRIES = 3;
const BASE_DELAY_MS = 60_000;
const FINAL: readonly BroadcastStatus[] = ["sent", "completed", "failed", "cancelled"];

const now = (real: Real) => real.rig.clock.now().getTime();
const pending = (m: Model) => m.recipients.filter((x) => x.state === "pending");
const count = (m: Model, state: ModelRecipient["state"]) =>
  m.recipients.filter((x) => x.state === state).length;

/** §2's final-status rule, written out again. */
function finish(m: Model, at: number): void {
  const sent = count(m, "sent");
  const failed = count(m, "failed");
  m.status = failed === 0 ? "sent" : sent === 0 ? "failed" : "completed";
  m.completedAt = at;
}

function start(m: Model, at: number): void {
  m.sentAt = m.sentAt ?? at;
  if (m.recipients.length === 0) {
    m.status = "sent";
    m.completedAt = at;
  } else {
    m.status = "sending";
  }
}

/** §5 by hand: what one call does to a recipient. Returns whether the message itself was refused. */
function answer(x: ModelRecipient, at: number): "refused" | "recorded" {
  const result = answerOf(x.behaviour, x.calls);
  x.calls++;
  if (result.status === "delivered") {
    x.state = "sent";
    x.attempts++;
    x.notBefore = 0;
  } else if (result.kind === "content") {
    return "refused";
  } else if (result.kind === "permanent") {
    x.state = "failed";
    x.attempts++;
    x.failedKind = "permanent";
  } else if (result.retryAfterMs !== undefined) {
    x.notBefore = at + result.retryAfterMs;
  } else {
    x.attempts++;
    if (x.attempts > MAX_RETRIES) {
      x.state = "failed";
      x.failedKind = "transient";
    } else {
      x.notBefore = at + BASE_DELAY_MS * 2 ** (x.attempts - 1);
    }
  }
  return "recorded";
}

function expectRefused(
  result: Result<unknown, BroadcastError>,
  from: BroadcastStatus,
  to: BroadcastStatus,
): void {
  expect(result.isErr() && result.error).toMatchObject({ type: "invalid_transition", from, to });
}

async function expectSameAsModel(m: Model, real: Real): Promise<void> {
  const b = await real.rig.broadcast(real.id);
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  expect({
    status: b.status,
    sentCount: b.sentCount,
    failedCount: b.failedCount,
    totalRecipients: b.totalRecipients,
    scheduledAt: b.scheduledAt,
    sentAt: b.sentAt,
    completedAt: b.completedAt,
    pausedBecause: b.pauseReason?.type ?? null,
  }).toEqual({
    status: m.status,
    sentCount: count(m, "sent"),
    failedCount: count(m, "failed"),
    totalRecipients: m.recipients.length,
    scheduledAt: date(m.scheduledAt),
    sentAt: date(m.sentAt),
    completedAt: date(m.completedAt),
    pausedBecause: m.status === "paused" ? m.pausedBecause : null,
  });
  expect(b.completedAt !== null).toBe(FINAL.includes(b.status));
  const stored = await real.rig.recipients(real.id);
  // A cancel leaves the unsent pending in the store; they read as cancelled.
  const reads = (state: ModelRecipient["state"]) =>
    m.status === "cancelled" && state === "pending" ? "cancelled" : state;
  expect(stored.map((x) => ({ state: x.state, attempts: x.attempts }))).toEqual(
    m.recipients.map((x) => ({ state: reads(x.state), attempts: x.attempts })),
  );
}

/** One command: `apply` acts on the real system, predicts on the model and checks the answer. */
class Step implements fc.AsyncCommand<Model, Real> {
  constructor(
    private readonly name: string,
    private readonly apply: (m: Model, real: Real) => Promise<void>,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    await this.apply(m, real);
    await expectSameAsModel(m, real);
  }
  toString = () => this.name;
}

const schedule = (deltaMs: number) =>
  new Step(`schedule(now ${deltaMs >= 0 ? "+" : ""}${deltaMs} ms)`, async (m, real) => {
    const at = now(real) + deltaMs;
    const result = await real.rig.service.schedule(real.id, new Date(at));
    if (m.status !== "draft") return expectRefused(result, m.status, "scheduled");
    if (deltaMs <= 0) {
      expect(result.isErr() && result.error).toMatchObject({
        type: "validation",
        issues: [expect.objectContaining({ path: "scheduledAt" })],
      });
      return;
    }
    unwrap(result);
    m.status = "scheduled";
    m.scheduledAt = at;
  });

const unschedule = new Step("unschedule", async (m, real) => {
  const result = await real.rig.service.unschedule(real.id);
  if (m.status !== "scheduled") return expectRefused(result, m.status, "draft");
  unwrap(result);
  m.status = "draft";
  m.scheduledAt = null;
});

const startNow = new Step("start", async (m, real) => {
  const result = await real.rig.service.start(real.id);
  if (m.status !== "draft" && m.status !== "scheduled") return expectRefused(result, m.status, "sending");
  unwrap(result);
  start(m, now(real));
});

const pause = new Step("pause", async (m, real) => {
  const result = await real.rig.service.pause(real.id);
  if (m.status !== "sending") return expectRefused(result, m.status, "paused");
  unwrap(result);
  m.status = "paused";
  m.pausedBecause = "manual";
});

const resume = new Step("resume", async (m, real) => {
  const result = await real.rig.service.resume(real.id);
  if (m.status !== "paused") return expectRefused(result, m.status, "sending");
  unwrap(result);
  m.status = "sending";
  m.pausedBecause = null;
});

const cancel = new Step("cancel", async (m, real) => {
  const result = await real.rig.service.cancel(real.id);
  if (!["draft", "scheduled", "sending", "paused"].includes(m.status)) {
    return expectRefused(result, m.status, "cancelled");
  }
  expect(unwrap(result)).toEqual({ broadcastId: real.id, cancelledAt: new Date(now(real)) });
  m.status = "cancelled";
  m.completedAt = now(real);
  m.pausedBecause = null;
});

const retry = (includePermanent: boolean) =>
  new Step(`retryFailed(includePermanent: ${includePermanent})`, async (m, real) => {
    const result = await real.rig.service.retryFailed(real.id, { includePermanent });
    const failed = m.recipients.filter((x) => x.state === "failed");
    const retriable = failed.filter((x) => includePermanent || x.failedKind !== "permanent");
    const skippedCount = failed.length - retriable.length;
    // One rule for every variant: accepted from completed, failed and sent, whatever has failed.
    if (m.status !== "completed" && m.status !== "failed" && m.status !== "sent") {
      return expectRefused(result, m.status, "sending");
    }
    if (retriable.length === 0) {
      expect(unwrap(result)).toEqual({ broadcastId: real.id, retriedCount: 0, skippedCount, taskId: null });
      return;
    }
    if (m.status !== "completed" && m.status !== "failed") return expectRefused(result, m.status, "sending");
    expect(unwrap(result)).toEqual({
      broadcastId: real.id,
      retriedCount: retriable.length,
      skippedCount,
      taskId: expect.any(String),
    });
    for (const x of retriable) {
      x.state = "pending";
      x.attempts = 0;
      x.notBefore = 0;
      x.failedKind = null;
    }
    m.status = "sending";
    m.completedAt = null;
  });

const advance = (ms: number) =>
  new Step(`advance(${ms} ms)`, async (_m, real) => {
    real.rig.clock.advance(ms);
  });

/** Moves the clock to the earliest moment a waiting recipient may be tried again (if any waits). */
const advanceToNextAttempt = new Step("advanceToNextAttempt", async (m, real) => {
  const waiting = pending(m)
    .map((x) => x.notBefore)
    .filter((at) => at > now(real));
  if (waiting.length > 0) real.rig.clock.set(Math.min(...waiting));
});

const tick = new Step("processScheduled(now)", async (m, real) => {
  const at = now(real);
  const result = unwrap(await real.rig.service.processScheduled(new Date(at)));
  const due = m.status === "scheduled" && m.scheduledAt !== null && m.scheduledAt <= at;
  expect(result).toEqual({ found: due ? 1 : 0, queued: due ? 1 : 0, failed: 0 });
  if (due) start(m, at);
});

/**
 * A store through which the worker makes one claim only: later claims find nothing (someone else
 * holds the rest), so `handle` runs one batch and stops, or settles when nobody is left.
 */
function oneClaimOnly(store: BroadcastStore): BroadcastStore {
  let claimed = false;
  return {
    ...boundStore(store),
    claimRecipients: async (request) => {
      if (claimed) {
        return { epoch: 0, recipients: [], retryAt: new Date(request.now.getTime() + 60 * 60_000) };
      }
      claimed = true;
      return store.claimRecipients(request);
    },
  };
}

/**
 * Runs the worker once and checks it against the model: it must message only claimable
 * recipients, each at most once, `batchSize` at a time when `oneBatch`, all of them otherwise,
 * and stop at a refused message; then it settles the broadcast when nobody is left.
 */
const runWorker = (batchSize: number, oneBatch: boolean, concurrency: number) =>
  new Step(
    `${oneBatch ? "runOneBatch" : "runWorker"}(batchSize ${batchSize}, concurrency ${concurrency})`,
    async (m, real) => {
      const at = now(real);
      const store = oneBatch ? oneClaimOnly(real.rig.store) : real.rig.store;
      const worker: SendWorker = real.rig.workerWith(real.sender, { batchSize, concurrency, store });
      const before = real.sender.calls.length;
      await worker.handle({ broadcastId: real.id, onlyFailed: false });
      const calls = real.sender.calls.slice(before);

      if (m.status !== "sending") return expect(calls).toEqual([]);
      const claimable = pending(m).filter((x) => x.notBefore <= at);
      const called = new Set<ModelRecipient>();
      // After the message is refused nothing new starts; sends already in flight then (at most
      // concurrency - 1 of them) still count.
      let refusals = 0;
      let callsAfterRefusal = 0;
      for (const call of calls) {
        const x = m.recipients[Number(call.recipientId) - 1];
        expect(x !== undefined && claimable.includes(x) && !called.has(x)).toBe(true);
        if (refusals > 0) callsAfterRefusal++;
        called.add(x!);
        if (answer(x!, at) === "refused") refusals++;
      }
      expect(callsAfterRefusal).toBeLessThanOrEqual(concurrency - 1);
      if (refusals > 0) {
        m.status = "paused";
        m.pausedBecause = "content_refused";
        return;
      }
      expect(called.size).toBe(oneBatch ? Math.min(batchSize, claimable.length) : claimable.length);
      if (pending(m).length === 0) finish(m, at);
    },
  );

const behaviourArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Behaviour>("ok") },
  { weight: 2, arbitrary: fc.constant<Behaviour>("blocked") },
  { weight: 3, arbitrary: fc.constant<Behaviour>("down") },
  { weight: 2, arbitrary: fc.constant<Behaviour>("flaky") },
  { weight: 2, arbitrary: fc.constant<Behaviour>("throttled") },
  { weight: 1, arbitrary: fc.constant<Behaviour>("content") },
);
const setupArb = fc.record({
  behaviours: fc.array(behaviourArb, { minLength: 1, maxLength: 8 }),
  scheduledInMs: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 10 * 60_000 }) },
  ),
  /** Most runs begin sending at once, so the commands reach deep states (retries exhausted). */
  startFirst: fc.oneof(
    { weight: 3, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
});
const batchSizeArb = fc.integer({ min: 1, max: 4 });
const concurrencyArb = fc.constantFrom(1, 3);
/** Weighted so a run gets far (retries exhausted, retried again) before a cancel ends it. */
const commandArb = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: -60_000, max: 10 * 60_000 }).map(schedule) },
  { weight: 1, arbitrary: fc.constant(unschedule) },
  { weight: 6, arbitrary: fc.constant(startNow) },
  { weight: 2, arbitrary: fc.constant(pause) },
  { weight: 3, arbitrary: fc.constant(resume) },
  { weight: 1, arbitrary: fc.constant(cancel) },
  { weight: 6, arbitrary: fc.boolean().map(retry) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(1_000, 30_000, 60_000, 120_000, 240_000, 10 * 60_000).map(advance),
  },
  { weight: 16, arbitrary: fc.constant(advanceToNextAttempt) },
  { weight: 2, arbitrary: fc.constant(tick) },
  {
    weight: 12,
    arbitrary: fc.tuple(batchSizeArb, concurrencyArb).map(([b, c]) => runWorker(b, true, c)),
  },
  {
    weight: 20,
    arbitrary: fc.tuple(batchSizeArb, concurrencyArb).map(([b, c]) => runWorker(b, false, c)),
  },
);
const commandsArb = fc.commands([commandArb], { maxCommands: 50, size: "large" });

describe.each(storeFactories)("the service against a model, on the $name store", (factory) => {
  it("agrees with the model on status, counters, timestamps and every recipient after each command", () =>
    fc.assert(
      fc.asyncProperty(setupArb, commandsArb, ({ behaviours, scheduledInMs, startFirst }, commands) =>
        withStore(factory, async (store) => {
          const r = rig(store);
          const sender = behavingSender(behaviours);
          const scheduledAt = scheduledInMs === undefined ? undefined : START.getTime() + scheduledInMs;
          const created = unwrap(
            await r.service.create({
              message: { text: "Hi" },
              recipients: recipientsFor(behaviours.length),
              ...(scheduledAt === undefined ? {} : { scheduledAt: new Date(scheduledAt) }),
            }),
          );
          const model: Model = {
            status: scheduledAt === undefined ? "draft" : "scheduled",
            scheduledAt: scheduledAt ?? null,
            sentAt: null,
            completedAt: null,
            pausedBecause: null,
            recipients: behaviours.map((behaviour) => ({
              behaviour,
              state: "pending",
              attempts: 0,
              calls: 0,
              notBefore: 0,
              failedKind: null,
            })),
          };
          const real: Real = { rig: r, id: created.id, sender };
          if (startFirst) await startNow.run(model, real);
          await fc.asyncModelRun(() => ({ model, real }), commands);

          // Whatever happened, a broadcast left sending still has its job waiting: running the
          // queue takes it out of `sending` (to a final status, or paused by a refused message).
          if (model.status === "sending") {
            const worker = r.workerWith(sender, { batchSize: 3 });
            r.queue.consume((job) => worker.handle(job));
            await runToTheEnd(r);
            expect((await r.broadcast(created.id)).status).not.toBe("sending");
          }
        }),
      ),
      { numRuns: runsFor(factory, 250, 10) },
    ));
});
