import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { normalizeDescription } from "../../src/core/outcome.js";
import { finalStatus } from "../../src/core/progress.js";
import { type BroadcastEvent, type BroadcastEventType, transition } from "../../src/core/transitions.js";
import { BROADCAST_STATUSES, type Broadcast, type BroadcastStatus } from "../../src/core/types.js";
import { aBroadcast, LATER, T0 } from "./fixtures.js";

const NOW = new Date("2030-01-01T00:30:00.000Z");
const PAUSED_BY_HAND = { type: "manual" } as const;

/**
 * SPEC §2, written out independently of the implementation: for each event, the statuses it may
 * start from and where it leads. Every pair not listed here is refused.
 */
const TABLE: Record<BroadcastEventType, Partial<Record<BroadcastStatus, BroadcastStatus>>> = {
  schedule: { draft: "scheduled" },
  unschedule: { scheduled: "draft" },
  start: { draft: "sending", scheduled: "sending" },
  pause: { sending: "paused" },
  resume: { paused: "sending" },
  cancel: { draft: "cancelled", scheduled: "cancelled", sending: "cancelled", paused: "cancelled" },
  // 6 delivered and 4 failed out of 10: nobody pending, some of each.
  finish: { sending: "completed" },
  retry: { completed: "sending", failed: "sending" },
  // The seed's update_progress: counters change, the status stays while someone is pending.
  set_counters: { sending: "sending", paused: "paused" },
};

/** The status each event asks for: what `invalid_transition` names as `to` when it is refused. */
const ASKS_FOR: Record<BroadcastEventType, BroadcastStatus | "unchanged"> = {
  schedule: "scheduled",
  unschedule: "draft",
  start: "sending",
  pause: "paused",
  resume: "sending",
  cancel: "cancelled",
  finish: "completed",
  retry: "sending",
  set_counters: "unchanged",
};

const EVENTS: Record<BroadcastEventType, BroadcastEvent> = {
  schedule: { type: "schedule", at: LATER },
  unschedule: { type: "unschedule" },
  start: { type: "start" },
  pause: { type: "pause", reason: PAUSED_BY_HAND },
  resume: { type: "resume" },
  cancel: { type: "cancel" },
  finish: { type: "finish" },
  retry: { type: "retry" },
  set_counters: { type: "set_counters", sentCount: 1, failedCount: 1 },
};

const EVENT_TYPES = Object.keys(EVENTS) as BroadcastEventType[];

/** A broadcast in `status` for which `event` makes sense (finish needs nobody pending). */
const broadcastFor = (status: BroadcastStatus, event: BroadcastEventType): Broadcast =>
  aBroadcast(event === "finish" ? { status, sentCount: 6, failedCount: 4 } : { status });

const pairs = BROADCAST_STATUSES.flatMap((status) => EVENT_TYPES.map((event) => ({ status, event })));
const allowed = pairs.filter(({ status, event }) => TABLE[event][status] !== undefined);
const refused = pairs.filter(({ status, event }) => TABLE[event][status] === undefined);

const statusArb = fc.constantFrom(...BROADCAST_STATUSES);
const eventArb: fc.Arbitrary<BroadcastEvent> = fc.oneof(
  fc.date({ min: T0, max: LATER, noInvalidDate: true }).map((at) => ({ type: "schedule" as const, at })),
  fc.constant({ type: "unschedule" as const }),
  fc.constant({ type: "start" as const }),
  fc.constant({ type: "pause" as const, reason: PAUSED_BY_HAND }),
  fc.constant({ type: "resume" as const }),
  fc.constant({ type: "cancel" as const }),
  fc.constant({ type: "finish" as const }),
  fc.constant({ type: "retry" as const }),
  fc
    .record({ sentCount: fc.nat(20), failedCount: fc.nat(20) })
    .map((c) => ({ type: "set_counters" as const, ...c })),
);
const countersArb = fc
  .record({ total: fc.nat(50), sent: fc.nat(50), failed: fc.nat(50) })
  .map(({ total, sent, failed }) => {
    const sentCount = Math.min(sent, total);
    return { totalRecipients: total, sentCount, failedCount: Math.min(failed, total - sentCount) };
  });
const timestampArb = fc.option(fc.date({ min: T0, max: LATER, noInvalidDate: true }), { nil: null });
const broadcastIn = (status: fc.Arbitrary<BroadcastStatus>) =>
  fc
    .record({ status, counters: countersArb, sentAt: timestampArb, completedAt: timestampArb })
    .map(({ status, counters, sentAt, completedAt }) =>
      aBroadcast({ status, ...counters, sentAt, completedAt }),
    );
const broadcastArb = broadcastIn(statusArb);

describe("transition: the §2 table, every status × every event", () => {
  it.each(allowed)("$status + $event is allowed", ({ status, event }) => {
    const result = transition(broadcastFor(status, event), EVENTS[event], NOW);
    const to = TABLE[event][status];
    expect(result._unsafeUnwrap()).toMatchObject({ broadcastId: 7, from: status, to, patch: { status: to } });
  });

  it.each(refused)(
    "$status + $event is refused with invalid_transition naming both statuses",
    ({ status, event }) => {
      const result = transition(broadcastFor(status, event), EVENTS[event], NOW);
      const asked = ASKS_FOR[event];
      expect(result._unsafeUnwrapErr()).toEqual({
        type: "invalid_transition",
        broadcastId: 7,
        from: status,
        to: asked === "unchanged" ? status : asked,
      });
    },
  );

  it("lists at least one allowed and one refused pair for every event and every status", () => {
    for (const event of EVENT_TYPES) {
      expect(allowed.some((p) => p.event === event)).toBe(true);
      expect(refused.some((p) => p.event === event)).toBe(true);
    }
    for (const status of BROADCAST_STATUSES.filter((s) => s !== "sent" && s !== "cancelled")) {
      expect(allowed.some((p) => p.status === status)).toBe(true);
    }
  });

  test.prop([broadcastIn(fc.constantFrom("sent", "cancelled")), eventArb])(
    "sent and cancelled are final: they accept no event",
    (b, event) => {
      expect(transition(b, event, NOW)._unsafeUnwrapErr().type).toBe("invalid_transition");
    },
  );

  test.prop([broadcastArb, eventArb])(
    "an accepted transition starts from the stored status and writes its target into the patch",
    (b, event) => {
      const result = transition(b, event, NOW);
      if (result.isErr()) return;
      expect(result.value.broadcastId).toBe(b.id);
      expect(result.value.from).toBe(b.status);
      expect(result.value.patch.status).toBe(result.value.to);
    },
  );

  test.prop([broadcastArb, eventArb])(
    "sentAt moves only on a start, and only the first one sets it",
    (b, event) => {
      const result = transition(b, event, NOW);
      if (result.isErr()) return;
      if (event.type === "start") expect(result.value.patch.sentAt).toEqual(b.sentAt ?? NOW);
      else expect(result.value.patch).not.toHaveProperty("sentAt");
    },
  );

  test.prop([broadcastArb, eventArb])(
    "completedAt is set on reaching sent, completed, failed or cancelled, cleared by a retry, untouched otherwise",
    (b, event) => {
      const result = transition(b, event, NOW);
      if (result.isErr()) return;
      const { to, patch } = result.value;
      const finished = to === "sent" || to === "completed" || to === "failed" || to === "cancelled";
      if (finished) expect(patch.completedAt).toEqual(NOW);
      else if (event.type === "retry") expect(patch.completedAt).toBeNull();
      else expect(patch).not.toHaveProperty("completedAt");
    },
  );

  test.prop([broadcastArb, eventArb])(
    "deciding a transition is pure: same input, same answer",
    (b, event) => {
      expect(transition(b, event, NOW)).toEqual(transition(b, event, NOW));
    },
  );
});

describe("transition: schedule and unschedule", () => {
  it("schedules a draft for a future time and stores that time", () => {
    const result = transition(aBroadcast(), { type: "schedule", at: LATER }, NOW);
    expect(result._unsafeUnwrap().patch).toEqual({ status: "scheduled", scheduledAt: LATER });
  });

  it.each([
    ["in the past", T0],
    ["exactly now", NOW],
  ])("refuses a scheduledAt %s with a validation error naming scheduledAt", (_, at) => {
    const result = transition(aBroadcast(), { type: "schedule", at }, NOW);
    expect(result._unsafeUnwrapErr()).toEqual({
      type: "validation",
      issues: [{ path: "scheduledAt", message: expect.any(String) }],
    });
  });

  it("unscheduling returns to draft and forgets the time", () => {
    const b = aBroadcast({ status: "scheduled", scheduledAt: LATER });
    expect(transition(b, { type: "unschedule" }, NOW)._unsafeUnwrap().patch).toEqual({
      status: "draft",
      scheduledAt: null,
    });
  });
});

describe("transition: start", () => {
  it("sets sentAt to now on the first start", () => {
    const result = transition(aBroadcast({ status: "scheduled", scheduledAt: NOW }), { type: "start" }, NOW);
    expect(result._unsafeUnwrap()).toMatchObject({
      to: "sending",
      patch: { status: "sending", sentAt: NOW },
    });
  });

  it("keeps the sentAt of an earlier start", () => {
    const result = transition(aBroadcast({ sentAt: T0 }), { type: "start" }, NOW);
    expect(result._unsafeUnwrap().patch.sentAt).toEqual(T0);
  });

  it.each(["draft", "scheduled"] as const)(
    "a %s broadcast with zero recipients becomes sent at once",
    (status) => {
      const result = transition(aBroadcast({ status, totalRecipients: 0 }), { type: "start" }, NOW);
      expect(result._unsafeUnwrap()).toMatchObject({
        to: "sent",
        patch: { status: "sent", sentAt: NOW, completedAt: NOW },
      });
    },
  );
});

describe("transition: pause, resume, cancel", () => {
  it("pausing stores why; resuming clears it and keeps sentAt", () => {
    const reason = { type: "content_refused", description: "Bad Request: can't parse entities" } as const;
    const paused = transition(aBroadcast({ status: "sending", sentAt: T0 }), { type: "pause", reason }, NOW);
    expect(paused._unsafeUnwrap().patch).toEqual({ status: "paused", pauseReason: reason });
    const resumed = transition(
      aBroadcast({ status: "paused", pauseReason: reason, sentAt: T0 }),
      { type: "resume" },
      NOW,
    );
    expect(resumed._unsafeUnwrap().patch).toEqual({ status: "sending", pauseReason: null });
  });

  it("pausing for refused content stores the platform's description normalised, like a failure's", () => {
    const description = `Bad Request: \u0000\uD800${"x".repeat(5_000)}`;
    const reason = { type: "content_refused", description } as const;
    const paused = transition(aBroadcast({ status: "sending", sentAt: T0 }), { type: "pause", reason }, NOW);
    expect(paused._unsafeUnwrap().patch.pauseReason).toEqual({
      type: "content_refused",
      description: normalizeDescription(description),
    });
    expect(normalizeDescription(description)).toMatch(/^Bad Request: \uFFFD\uFFFDx+$/);
  });

  it.each(["draft", "scheduled", "sending", "paused"] as const)(
    "cancelling a %s broadcast sets completedAt and clears any pause reason",
    (status) => {
      const result = transition(aBroadcast({ status }), { type: "cancel" }, NOW);
      expect(result._unsafeUnwrap().patch).toEqual({
        status: "cancelled",
        completedAt: NOW,
        pauseReason: null,
      });
    },
  );

  it.each(["sent", "completed", "failed", "cancelled"] as const)(
    "cancelling a %s broadcast is refused (the seed's blocked transitions)",
    (status) => {
      expect(transition(aBroadcast({ status }), { type: "cancel" }, NOW)._unsafeUnwrapErr()).toEqual({
        type: "invalid_transition",
        broadcastId: 7,
        from: status,
        to: "cancelled",
      });
    },
  );
});

describe("transition: finish applies the final-status rule", () => {
  it.each([
    { sentCount: 10, failedCount: 0, to: "sent" },
    { sentCount: 0, failedCount: 10, to: "failed" },
    { sentCount: 9, failedCount: 1, to: "completed" },
  ])("$sentCount delivered and $failedCount failed of 10 → $to", ({ sentCount, failedCount, to }) => {
    const b = aBroadcast({ status: "sending", sentCount, failedCount });
    expect(transition(b, { type: "finish" }, NOW)._unsafeUnwrap()).toMatchObject({
      to,
      patch: { status: to, completedAt: NOW },
    });
  });

  it("is refused while someone is pending", () => {
    const b = aBroadcast({ status: "sending", sentCount: 5, failedCount: 4 });
    expect(transition(b, { type: "finish" }, NOW)._unsafeUnwrapErr()).toMatchObject({
      type: "invalid_transition",
      from: "sending",
    });
  });

  test.prop([countersArb])(
    "finalStatus: sent iff nobody failed, failed iff nobody was delivered",
    (counters) => {
      const done = { ...counters, totalRecipients: counters.sentCount + counters.failedCount };
      const status = finalStatus(done);
      expect(status === "sent").toBe(done.failedCount === 0);
      expect(status === "failed").toBe(done.failedCount > 0 && done.sentCount === 0);
      expect(status === "completed").toBe(done.failedCount > 0 && done.sentCount > 0);
    },
  );
});

describe("transition: retry", () => {
  it.each(["completed", "failed"] as const)(
    "a %s broadcast goes back to sending with completedAt cleared",
    (status) => {
      const b = aBroadcast({ status, sentAt: T0, completedAt: T0, sentCount: 3, failedCount: 7 });
      expect(transition(b, { type: "retry" }, NOW)._unsafeUnwrap().patch).toEqual({
        status: "sending",
        completedAt: null,
      });
    },
  );
});

describe("transition: set_counters (update_progress)", () => {
  it("stores absolute counters and keeps sending while someone is pending", () => {
    const b = aBroadcast({ status: "sending", sentCount: 1 });
    expect(
      transition(b, { type: "set_counters", sentCount: 4, failedCount: 2 }, NOW)._unsafeUnwrap(),
    ).toEqual({
      broadcastId: 7,
      from: "sending",
      to: "sending",
      patch: { status: "sending", sentCount: 4, failedCount: 2 },
    });
  });

  it("settles a sending broadcast on its final status once nobody is pending", () => {
    const b = aBroadcast({ status: "sending" });
    expect(
      transition(b, { type: "set_counters", sentCount: 8, failedCount: 2 }, NOW)._unsafeUnwrap(),
    ).toMatchObject({
      to: "completed",
      patch: { status: "completed", sentCount: 8, failedCount: 2, completedAt: NOW },
    });
  });

  it("leaves a paused broadcast paused: resuming it settles it", () => {
    const b = aBroadcast({ status: "paused" });
    expect(
      transition(b, { type: "set_counters", sentCount: 10, failedCount: 0 }, NOW)._unsafeUnwrap().to,
    ).toBe("paused");
  });

  it.each([
    [{ sentCount: -1, failedCount: 0 }, ["sentCount"]],
    [{ sentCount: 0, failedCount: 1.5 }, ["failedCount"]],
    [{ sentCount: 0.5, failedCount: -2 }, ["sentCount", "failedCount"]],
    [{ sentCount: 6, failedCount: 5 }, [""]],
  ])("refuses counters %j naming %j", (counters, paths) => {
    const result = transition(aBroadcast({ status: "sending" }), { type: "set_counters", ...counters }, NOW);
    const error = result._unsafeUnwrapErr();
    expect(error.type).toBe("validation");
    expect(error.type === "validation" && error.issues.map((i) => i.path)).toEqual(paths);
  });
});
