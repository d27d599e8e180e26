import { createFakeSender } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../../src/ports/sender.js";

const message = (recipientId: number): OutgoingMessage => ({
  chatId: 100 + recipientId,
  text: "hi",
  idempotencyKey: `broadcast:1:recipient:${recipientId}`,
  broadcastId: 1,
  recipientId,
});

describe("createFakeSender", () => {
  it("delivers every message with an increasing message id and lists the calls", async () => {
    const sender = createFakeSender();
    expect(await sender.send(message(1))).toEqual({ status: "delivered", messageId: 1 });
    expect(await sender.send(message(2))).toEqual({ status: "delivered", messageId: 2 });
    expect(sender.calls.map((c) => c.recipientId)).toEqual([1, 2]);
    expect(sender.callCount).toBe(2);
  });

  it("answers with what respond decides, sync or async, and passes the call index", async () => {
    const sender = createFakeSender({
      respond: async (m, callIndex) =>
        callIndex === 0
          ? { status: "failed", kind: "transient", description: `timeout ${m.recipientId}` }
          : { status: "delivered" },
    });
    expect(await sender.send(message(7))).toEqual({
      status: "failed",
      kind: "transient",
      description: "timeout 7",
    });
    expect(await sender.send(message(8))).toEqual({ status: "delivered" });
  });

  it("rejects when respond throws, having recorded the call", async () => {
    const sender = createFakeSender({
      respond: () => {
        throw new Error("boom");
      },
    });
    await expect(sender.send(message(1))).rejects.toThrow("boom");
    expect(sender.calls).toHaveLength(1);
  });

  it("keeps no calls with record: false but still counts them", async () => {
    const sender = createFakeSender({ record: false });
    await sender.send(message(1));
    expect(sender.calls).toEqual([]);
    expect(sender.callCount).toBe(1);
  });
});
