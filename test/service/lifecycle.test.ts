import { BROADCAST_STATUSES, type BroadcastStatus } from "broadcastkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, START, type World } from "./support/world.js";

type Action = "schedule" | "unschedule" | "start" | "pause" | "resume" | "cancel";

/** SPEC §2: where each action is allowed from, and the status it leads to. */
const TABLE: Record<Action, { from: readonly BroadcastStatus[]; to: BroadcastStatus }> = {
  schedule: { from: ["draft"], to: "scheduled" },
  unschedule: { from: ["scheduled"], to: "draft" },
  start: { from: ["draft", "scheduled"], to: "sending" },
  pause: { from: ["sending"], to: "paused" },
  resume: { from: ["paused"], to: "sending" },
  cancel: { from: ["draft", "scheduled", "sending", "paused"], to: "cancelled" },
};

const cases = (Object.keys(TABLE) as Action[]).flatMap((action) =>
  BROADCAST_STATUSES.map((from) => ({
    action,
    from,
    allowed: TABLE[action].from.includes(from),
    to: TABLE[action].to,
  })),
);

function act(w: World, action: Action, id: number) {
  const later = new Date(w.clock.now().getTime() + 30 * MINUTE);
  switch (action) {
    case "schedule":
      return w.service.schedule(id, later).map(() => undefined);
    case "unschedule":
      return w.service.unschedule(id).map(() => undefined);
    case "start":
      return w.service.start(id).map(() => undefined);
    case "pause":
      return w.service.pause(id).map(() => undefined);
    case "resume":
      return w.service.resume(id).map(() => undefined);
    case "cancel":
      return w.service.cancel(id).map(() => undefined);
  }
}

describe.each(storeFactories)("broadcast lifecycle on the $name store", (factory) => {
  let w: World;

  // Each case drives its own broadcast and looks only at it, so the cases share one store.
  describe("every status change of SPEC §2", () => {
    beforeAll(async () => {
      w = await makeWorld(factory);
    });
    afterAll(() => w.close());

    it.each(cases.filter((c) => c.allowed))("$action moves $from to $to", async ({ action, from, to }) => {
      const b = await w.reach(from);

      (await act(w, action, b.id))._unsafeUnwrap();

      expect((await w.broadcast(b.id)).status).toBe(to);
    });

    it.each(cases.filter((c) => !c.allowed))(
      "$action is refused from $from, naming both statuses, and changes nothing",
      async ({ action, from, to }) => {
        const b = await w.reach(from);
        const before = await w.broadcast(b.id);

        const refused = (await act(w, action, b.id))._unsafeUnwrapErr();

        expect(refused).toEqual({ type: "invalid_transition", broadcastId: b.id, from, to });
        expect(await w.broadcast(b.id)).toEqual(before);
      },
    );

    it.each(["completed", "failed"] as const)(
      "retrying failed recipients moves %s back to sending",
      async (from) => {
        const b = await w.reach(from);

        (await w.service.retryFailed(b.id, { includePermanent: true }))._unsafeUnwrap();

        expect((await w.broadcast(b.id)).status).toBe("sending");
      },
    );

    /** SPEC §5 and docs/http.md: one rule for every variant of a retry. */
    const RETRY_REFUSED_FROM = ["draft", "scheduled", "sending", "paused", "cancelled"] as const;
    const VARIANTS = [{}, { includePermanent: false }, { includePermanent: true }] as const;
    const retryCases = RETRY_REFUSED_FROM.flatMap((from) => VARIANTS.map((options) => ({ from, options })));

    it.each(retryCases)(
      "retrying is refused from $from with nothing failed ($options), and changes nothing",
      async ({ from, options }) => {
        const b = await w.reach(from);
        const before = await w.broadcast(b.id);

        const refused = (await w.service.retryFailed(b.id, options))._unsafeUnwrapErr();

        expect(refused).toEqual({ type: "invalid_transition", broadcastId: b.id, from, to: "sending" });
        expect(await w.broadcast(b.id)).toEqual(before);
      },
    );

    it.each(retryCases.filter(({ from }) => from === "sending" || from === "paused" || from === "cancelled"))(
      "retrying is refused from $from when some failed ($options), and changes nothing",
      async ({ from, options }) => {
        // Recipient 1 fails for good; 2 and 3 are held back by a day-long 429, so sending goes on.
        w.respondWith((m) =>
          m.recipientId === 1
            ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
            : {
                status: "failed",
                kind: "transient",
                description: "Too Many Requests",
                retryAfterMs: 86_400_000,
              },
        );
        const b = await w.started(3);
        await w.runJobs();
        if (from === "paused") await w.service.pause(b.id);
        if (from === "cancelled") await w.service.cancel(b.id);
        const before = await w.broadcast(b.id);
        expect(before).toMatchObject({ status: from, failedCount: 1 });

        const refused = (await w.service.retryFailed(b.id, options))._unsafeUnwrapErr();

        expect(refused).toEqual({ type: "invalid_transition", broadcastId: b.id, from, to: "sending" });
        expect(await w.broadcast(b.id)).toEqual(before);
      },
    );

    it.each(VARIANTS)("retrying a clean sent broadcast (%o) is a no-op that succeeds", async (options) => {
      const b = await w.reach("sent");
      const before = await w.broadcast(b.id);
      const jobs = w.queue.pending().length;

      const result = (await w.service.retryFailed(b.id, options))._unsafeUnwrap();

      expect(result).toEqual({ broadcastId: b.id, retriedCount: 0, skippedCount: 0, taskId: null });
      expect(await w.broadcast(b.id)).toEqual(before);
      expect(w.queue.pending()).toHaveLength(jobs);
    });
  });

  describe("with a store of its own", () => {
    beforeEach(async () => {
      w = await makeWorld(factory);
    });
    afterEach(() => w.close());

    describe("timestamps", () => {
      it("start sets sentAt once, a pause and resume keep it, and completion sets completedAt", async () => {
        const b = await w.started(2);
        expect(b).toMatchObject({ status: "sending", sentAt: START, completedAt: null });
        await w.service.pause(b.id);
        w.clock.advance(MINUTE);
        await w.service.resume(b.id);
        expect((await w.broadcast(b.id)).sentAt).toEqual(START);

        await w.settle();

        expect(await w.broadcast(b.id)).toMatchObject({
          status: "sent",
          sentAt: START,
          completedAt: w.clock.now(),
        });
      });

      it("a broadcast started with zero recipients is sent at once, with no job", async () => {
        const b = await w.create(0);

        const started = (await w.service.start(b.id))._unsafeUnwrap();

        expect(started).toMatchObject({ status: "sent", sentAt: START, completedAt: START });
        expect(w.queue.pending()).toEqual([]);
      });

      it("schedule refuses a time that is not in the future, on scheduledAt", async () => {
        const b = await w.create(1);

        const past = (await w.service.schedule(b.id, START))._unsafeUnwrapErr();
        const garbage = (await w.service.schedule(b.id, "tomorrow"))._unsafeUnwrapErr();

        expect(past).toEqual({
          type: "validation",
          issues: [{ path: "scheduledAt", message: "must be in the future" }],
        });
        expect(garbage).toMatchObject({ type: "validation", issues: [{ path: "scheduledAt" }] });
        expect((await w.broadcast(b.id)).status).toBe("draft");
      });

      it("unschedule clears scheduledAt", async () => {
        const b = await w.reach("scheduled");

        const draft = (await w.service.unschedule(b.id))._unsafeUnwrap();

        expect(draft).toMatchObject({ status: "draft", scheduledAt: null });
      });
    });

    describe("lists", () => {
      it("lists newest first, 50 to a page by default, filtered by status", async () => {
        for (let i = 0; i < 3; i++) await w.create(1);
        const started = await w.started(1);

        const all = (await w.service.list())._unsafeUnwrap();
        const sending = (await w.service.list({ status: "sending" }))._unsafeUnwrap();

        expect(all.items.map((b) => b.id)).toEqual([
          started.id,
          started.id - 1,
          started.id - 2,
          started.id - 3,
        ]);
        expect(sending.items.map((b) => b.id)).toEqual([started.id]);
      });

      it("refuses a cursor the store did not issue, and a limit out of range, naming the field", async () => {
        const b = await w.create(1);

        const badCursor = (await w.service.list({ cursor: "not-a-cursor" }))._unsafeUnwrapErr();
        const badLimit = (await w.service.listRecipients(b.id, { limit: 0 }))._unsafeUnwrapErr();

        expect(badCursor).toMatchObject({ type: "validation", issues: [{ path: "cursor" }] });
        expect(badLimit).toMatchObject({ type: "validation", issues: [{ path: "limit" }] });
      });
    });

    describe("ids", () => {
      it.each([0, -1, 1.5, Number.NaN, 2 ** 53])(
        "refuses id %s on the path id before reaching the store",
        async (id) => {
          const calls = { ...w.faults.calls };

          const refused = (await w.service.get(id))._unsafeUnwrapErr();

          expect(refused.type).toBe("validation");
          expect(refused.type === "validation" && refused.issues.map((issue) => issue.path)).toContain("id");
          expect(w.faults.calls).toEqual(calls);
        },
      );

      it("answers not_found for every operation on an id that does not exist", async () => {
        const results = await Promise.all([
          w.service.get(42),
          w.service.start(42),
          w.service.schedule(42, new Date(START.getTime() + MINUTE)),
          w.service.unschedule(42),
          w.service.pause(42),
          w.service.resume(42),
          w.service.cancel(42),
          w.service.retryFailed(42),
          w.service.getProgress(42),
          w.service.updateProgress(42, { sentCount: 0, failedCount: 0 }),
          w.service.listRecipients(42),
        ]);

        for (const result of results)
          expect(result._unsafeUnwrapErr()).toEqual({ type: "not_found", broadcastId: 42 });
      });
    });
  });
});
