import type { NewRecipient } from "broadcastkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, recipientsFor, START, type World } from "./support/world.js";

const paths = (error: unknown): string[] =>
  (error as { issues: { path: string }[] }).issues.map((issue) => issue.path);

async function* streamed(recipients: readonly unknown[]): AsyncGenerator<NewRecipient> {
  for (const recipient of recipients) yield recipient as NewRecipient;
}

describe.each(storeFactories)("creating a broadcast on the $name store", (factory) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(factory);
  });
  afterEach(() => w.close());

  const storedCount = async () => (await w.service.list())._unsafeUnwrap().items.length;

  it("stores a draft with every recipient pending and counters at zero", async () => {
    const created = (
      await w.service.create({
        message: { text: "Hi", parseMode: "HTML" },
        recipients: recipientsFor(3),
        createdBy: "admin",
      })
    )._unsafeUnwrap();

    expect(created).toMatchObject({
      status: "draft",
      message: { text: "Hi", parseMode: "HTML" },
      createdBy: "admin",
      errorThreshold: null,
      totalRecipients: 3,
      sentCount: 0,
      failedCount: 0,
      createdAt: START,
      scheduledAt: null,
    });
    const recipients = await w.recipients(created.id);
    expect(recipients.map((r) => [r.recipientId, r.chatId, r.state])).toEqual([
      [1, 1001, "pending"],
      [2, 1002, "pending"],
      [3, 1003, "pending"],
    ]);
  });

  it("stores a broadcast with a future scheduledAt as scheduled", async () => {
    const at = new Date(START.getTime() + MINUTE);

    const created = (
      await w.service.create({ message: { text: "Hi" }, recipients: [], scheduledAt: at.toISOString() })
    )._unsafeUnwrap();

    expect(created).toMatchObject({ status: "scheduled", scheduledAt: at });
  });

  it("takes recipients from an async iterable without needing an array", async () => {
    const created = (
      await w.service.create({ message: { text: "Hi" }, recipients: streamed(recipientsFor(250)) })
    )._unsafeUnwrap();

    expect(created.totalRecipients).toBe(250);
  });

  describe("refuses input, names the field, and stores nothing", () => {
    it.each([
      ["an empty message", { message: { text: "   " }, recipients: recipientsFor(1) }, "message.text"],
      [
        "a message over 4096 characters",
        { message: { text: "x".repeat(4097) }, recipients: recipientsFor(1) },
        "message.text",
      ],
      [
        "an unknown parse mode",
        { message: { text: "Hi", parseMode: "Markdown" }, recipients: [] },
        "message.parseMode",
      ],
      ["an unknown field", { message: { text: "Hi" }, recipients: [], priority: 1 }, "priority"],
      [
        "a scheduledAt in the past",
        { message: { text: "Hi" }, recipients: [], scheduledAt: new Date(START.getTime() - 1) },
        "scheduledAt",
      ],
      [
        "a scheduledAt that is not a date",
        { message: { text: "Hi" }, recipients: [], scheduledAt: "soon" },
        "scheduledAt",
      ],
      ["recipients that are not a list", { message: { text: "Hi" }, recipients: 5 }, "recipients"],
      [
        "a negative error threshold",
        { message: { text: "Hi" }, recipients: [], errorThreshold: -1 },
        "errorThreshold",
      ],
    ])("%s", async (_name, input, path) => {
      const refused = (await w.service.create(input as never))._unsafeUnwrapErr();

      expect(refused.type).toBe("validation");
      expect(paths(refused)).toContain(path);
      expect(await storedCount()).toBe(0);
    });

    it("a chat id that is neither an integer nor @name, at its index", async () => {
      const recipients = [
        ...recipientsFor(3),
        { recipientId: 4, chatId: "not a channel" },
        { recipientId: 5, chatId: 1.5 },
      ];

      const refused = (
        await w.service.create({ message: { text: "Hi" }, recipients: recipients as NewRecipient[] })
      )._unsafeUnwrapErr();

      expect(paths(refused)).toEqual(["recipients.3.chatId", "recipients.4.chatId"]);
      expect(await storedCount()).toBe(0);
    });

    it("a duplicate recipient id, at the later index", async () => {
      const recipients = [...recipientsFor(7), { recipientId: 3, chatId: 5000 }];

      const refused = (await w.service.create({ message: { text: "Hi" }, recipients }))._unsafeUnwrapErr();

      expect(refused).toEqual({
        type: "validation",
        issues: [{ path: "recipients.7.recipientId", message: "duplicate recipientId 3" }],
      });
    });

    it.each([
      ["a list", (list: NewRecipient[]) => list],
      ["a stream", (list: NewRecipient[]) => streamed(list)],
    ])("a chat given twice under distinct recipient ids, in %s, naming the first", async (_, given) => {
      const recipients = [...recipientsFor(7), { recipientId: 8, chatId: 1003 }];

      const refused = (
        await w.service.create({ message: { text: "Hi" }, recipients: given(recipients) })
      )._unsafeUnwrapErr();

      expect(refused).toEqual({
        type: "validation",
        issues: [{ path: "recipients.7.chatId", message: "duplicate of recipients.2" }],
      });
      expect(await storedCount()).toBe(0);
    });

    it("a placeholder no recipient supplies, naming the variable", async () => {
      const refused = (
        await w.service.create({
          message: { text: "Hello {{name}}, your code is {{code|none}}" },
          recipients: recipientsFor(2),
        })
      )._unsafeUnwrapErr();

      expect(paths(refused)).toEqual(["message.text"]);
      expect(JSON.stringify(refused)).toContain("{{name}}");
    });

    it("a message over 4096 characters once rendered for one recipient, naming that recipient", async () => {
      const recipients = [
        { recipientId: 1, chatId: 1, variables: { name: "Ann" } },
        { recipientId: 2, chatId: 2, variables: { name: "x".repeat(4091) } },
      ];

      const refused = (
        await w.service.create({ message: { text: "Hello {{name}}" }, recipients })
      )._unsafeUnwrapErr();

      expect(paths(refused)).toEqual(["recipients.1"]);
      expect(await storedCount()).toBe(0);
    });

    it("a bad recipient deep in a stream, after the store began reading it", async () => {
      const recipients = [...recipientsFor(300), { recipientId: 301, chatId: "bad" }];

      const refused = (
        await w.service.create({ message: { text: "Hi" }, recipients: streamed(recipients) })
      )._unsafeUnwrapErr();

      expect(paths(refused)).toEqual(["recipients.300.chatId"]);
      expect(await storedCount()).toBe(0);
    });

    it("a placeholder nobody in a stream supplies, found at its end", async () => {
      const refused = (
        await w.service.create({
          message: { text: "Hello {{name}}" },
          recipients: streamed(recipientsFor(10)),
        })
      )._unsafeUnwrapErr();

      expect(paths(refused)).toEqual(["message.text"]);
      expect(await storedCount()).toBe(0);
    });
  });

  it("fills a placeholder from the recipients that have it and its default for the rest", async () => {
    const b = (
      await w.service.create({
        message: { text: "Hi {{name|friend}} <3", parseMode: "HTML" },
        recipients: [
          { recipientId: 1, chatId: 1001, variables: { name: "<Ann>" } },
          { recipientId: 2, chatId: 1002 },
        ],
      })
    )._unsafeUnwrap();
    await w.service.start(b.id);

    await w.settle();

    expect(w.sender.calls.map((call) => call.text)).toEqual(["Hi &lt;Ann&gt; <3", "Hi friend <3"]);
  });

  it("reports a store failure as a storage error and logs its cause", async () => {
    w.faults.failNext("createBroadcast");

    const failed = (
      await w.service.create({ message: { text: "Hi" }, recipients: recipientsFor(1) })
    )._unsafeUnwrapErr();

    expect(failed).toMatchObject({ type: "storage" });
    expect(w.logs.some((log) => log.level === "error" && String(log.fields.err).includes("injected"))).toBe(
      true,
    );
  });
});
