import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, type Harness, START, snapshot, startHarness } from "./harness.js";

/** The seed's `BroadcastAPIEndpointsTestCase`, with the seed's Russian texts (`locale: "ru"`). */
describe("BroadcastAPIEndpoints", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ handler: { locale: "ru" } });
  });
  afterEach(() => h.close());

  it("progress endpoint returns correct data", async () => {
    // The seed's example: 500 recipients, 450 delivered, 40 failed with one error, 10 still pending.
    h.respondWith((id) => {
      const n = Number(id);
      if (n <= 450) return { status: "delivered" };
      if (n <= 490) return { status: "failed", kind: "transient", description: "Network timeout" };
      return {
        status: "failed",
        kind: "transient",
        description: "Too Many Requests",
        retryAfterMs: 86_400_000,
      };
    });
    const id = await h.createBroadcast(500);
    expect((await h.api("POST", `${BASE}/${id}/send/`)).status).toBe(200);
    await h.settle(new Date(START.getTime() + 3_600_000));

    const { status, json } = await h.api("GET", `${BASE}/${id}/progress/`);

    expect(status).toBe(200);
    expect(json).toEqual({
      success: true,
      data: {
        id,
        status: "sending",
        total_recipients: 500,
        sent_count: 450,
        failed_count: 40,
        pending_count: 10,
        cancelled_count: 0,
        progress_pct: 90,
        processed_pct: 98,
        error_summary: "40 failed: Network timeout",
        created_at: START.toISOString(),
        scheduled_at: null,
        sent_at: START.toISOString(),
        completed_at: null,
      },
    });
  });

  it("progress endpoint not found", async () => {
    const { status, json } = await h.api("GET", `${BASE}/999/progress/`);

    expect(status).toBe(404);
    expect(json).toEqual({
      success: false,
      error: { code: "not_found", message: "Рассылка 999 не найдена" },
    });
  });

  it("cancel endpoint cancels broadcast", async () => {
    const id = await h.createBroadcast(3);
    await h.api("POST", `${BASE}/${id}/send/`);
    const cancelledAt = h.clock.advance(30_000);

    const { status, json } = await h.api("POST", `${BASE}/${id}/cancel/`);

    expect(status).toBe(200);
    expect(json).toEqual({
      success: true,
      data: {
        success: true,
        message: "Рассылка успешно отменена",
        broadcast_id: id,
        cancelled_at: cancelledAt.toISOString(),
      },
    });
    const progress = (await h.api("GET", `${BASE}/${id}/progress/`)).json.data;
    expect(progress).toMatchObject({ status: "cancelled", completed_at: cancelledAt.toISOString() });
    // The send job queued before the cancel sends nobody.
    await h.settle();
    expect((await h.api("GET", `${BASE}/${id}/progress/`)).json.data).toMatchObject({
      status: "cancelled",
      sent_count: 0,
      pending_count: 3,
      cancelled_count: 3,
    });
  });

  it("cancel endpoint fails for completed", async () => {
    h.respondWith((id) =>
      id === 1
        ? { status: "delivered" }
        : { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" },
    );
    const id = await h.createBroadcast(2);
    await h.api("POST", `${BASE}/${id}/send/`);
    await h.settle();
    const before = await snapshot(h.service);

    const { status, json } = await h.api("POST", `${BASE}/${id}/cancel/`);

    expect(status).toBe(400);
    expect(json).toEqual({
      success: false,
      error: {
        code: "invalid_transition",
        message: `Рассылку ${id} нельзя перевести из статуса completed в cancelled`,
      },
    });
    expect(await snapshot(h.service)).toBe(before);
  });

  it("retry endpoint queues retry", async () => {
    h.respondWith((id) =>
      Number(id) <= 10
        ? { status: "delivered" }
        : { status: "failed", kind: "transient", description: "Network timeout" },
    );
    const id = await h.createBroadcast(50);
    await h.api("POST", `${BASE}/${id}/send/`);
    await h.settle();
    expect((await h.api("GET", `${BASE}/${id}/progress/`)).json.data).toMatchObject({
      status: "completed",
      sent_count: 10,
      failed_count: 40,
    });

    const { status, json } = await h.api("POST", `${BASE}/${id}/retry/`);

    expect(status).toBe(200);
    expect(json).toEqual({
      success: true,
      data: {
        success: true,
        message: "Повторная отправка запущена для 40 получателей",
        retried_count: 40,
        skipped_count: 0,
        broadcast_id: id,
        task_id: expect.any(String),
      },
    });
    expect(h.queue.pending().map((job) => job.jobId)).toContain(json.data.task_id);
    expect((await h.api("GET", `${BASE}/${id}/progress/`)).json.data).toMatchObject({
      status: "sending",
      failed_count: 0,
      pending_count: 40,
      completed_at: null,
    });

    h.respondWith(() => ({ status: "delivered" }));
    await h.settle();
    expect((await h.api("GET", `${BASE}/${id}/progress/`)).json.data).toMatchObject({
      status: "sent",
      sent_count: 50,
      progress_pct: 100,
    });
  });

  it("retry endpoint no failed", async () => {
    const id = await h.createBroadcast(5);
    await h.api("POST", `${BASE}/${id}/send/`);
    await h.settle();
    const before = await snapshot(h.service);

    const { status, json } = await h.api("POST", `${BASE}/${id}/retry/`);

    expect(status).toBe(200);
    expect(json).toEqual({
      success: true,
      data: {
        success: true,
        message: "Нет получателей для повторной отправки",
        retried_count: 0,
        skipped_count: 0,
        broadcast_id: id,
        task_id: null,
      },
    });
    expect(await snapshot(h.service)).toBe(before);
    expect(h.queue.pending()).toEqual([]);
  });
});
