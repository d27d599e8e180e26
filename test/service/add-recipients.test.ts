import type { NewRecipient } from "broadcastkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, START, type World } from "./support/world.js";

const paths = (error: unknown): string[] =>
  (error as { issues: { path: string }[] }).issues.map((issue) => issue.path);

/** Recipients `from`..`from + n - 1`, chat ids 1000 above. */
const range = (from: number, n: number): NewRecipient[] =>
  Array.from({ length: n }, (_, i) => ({ recipientId: from + i, chatId: 1000 + from + i }));

async function* streamed(recipients: readonly unknown[]): AsyncGenerator<NewRecipient> {
  for (const recipient of recipients) yield recipient as NewRecipient;
}

describe.each(storeFactories)("adding recipients to a draft on the $name store", (factory) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(factory, { batchSize: 7 });
  });
  afterEach(() => w.close());

  const total = async (id: number) => (await w.broadcast(id)).totalRecipients;

  it("builds a broadcast in chunks, then sends to every recipient once, in the order added", async () => {
    const draft = await w.create(range(1, 10));

    const afterSecond = (await w.service.addRecipients(draft.id, range(11, 10)))._unsafeUnwrap();
    const afterThird = (await w.service.addRecipients(draft.id, streamed(range(21, 5))))._unsafeUnwrap();

    expect(afterSecond).toMatchObject({ status: "draft", totalRecipients: 20 });
    expect(afterThird).toMatchObject({ status: "draft", totalRecipients: 25 });
    expect(afterThird.version).toBeGreaterThan(afterSecond.version);
    (await w.service.start(draft.id))._unsafeUnwrap();
    await w.settle();
    expect(await w.broadcast(draft.id)).toMatchObject({ status: "sent", sentCount: 25, totalRecipients: 25 });
    expect(w.sender.calls.map((call) => call.recipientId)).toEqual(range(1, 25).map((r) => r.recipientId));
  });

  it("refuses an id already in the broadcast at its index, adding nothing", async () => {
    const draft = await w.create(range(1, 3));

    const refused = (
      await w.service.addRecipients(draft.id, [...range(4, 2), { recipientId: 2, chatId: 77 }])
    )._unsafeUnwrapErr();

    expect(refused).toEqual({
      type: "validation",
      issues: [
        { path: "recipients.2.recipientId", message: "duplicate recipientId 2: already in the broadcast" },
      ],
    });
    expect(await total(draft.id)).toBe(3);
  });

  it("refuses an id already in the broadcast from a stream, naming it, adding nothing", async () => {
    const draft = await w.create(range(1, 3));

    const refused = (await w.service.addRecipients(draft.id, streamed(range(3, 3))))._unsafeUnwrapErr();

    expect(refused).toEqual({
      type: "validation",
      issues: [{ path: "recipients", message: "duplicate recipientId 3: already in the broadcast" }],
    });
    expect(await total(draft.id)).toBe(3);
  });

  it("refuses an id given twice in the call (1 and '1' as well), as creation does", async () => {
    const draft = await w.create(range(1, 1));

    const twice = (
      await w.service.addRecipients(draft.id, [...range(2, 3), { recipientId: "3", chatId: 5 }])
    )._unsafeUnwrapErr();

    expect(twice).toEqual({
      type: "validation",
      issues: [{ path: "recipients.3.recipientId", message: "duplicate recipientId 3" }],
    });
    expect(await total(draft.id)).toBe(1);
  });

  it("validates each recipient as creation does, naming the field at its index", async () => {
    const draft = await w.create(range(1, 1));

    const refused = (
      await w.service.addRecipients(draft.id, [
        ...range(2, 2),
        { recipientId: 4, chatId: "not a channel" },
        { recipientId: 5, chatId: 5, extra: true },
      ] as NewRecipient[])
    )._unsafeUnwrapErr();

    expect(paths(refused)).toEqual(["recipients.2.chatId", "recipients.3.extra"]);
    expect(await total(draft.id)).toBe(1);
    const notAList = (await w.service.addRecipients(draft.id, 5 as never))._unsafeUnwrapErr();
    expect(paths(notAList)).toEqual(["recipients"]);
  });

  it("checks the template for the recipients added: a placeholder nobody supplies, a message too long", async () => {
    const draft = await w.create([{ recipientId: 1, chatId: 1, variables: { name: "Ann" } }], {
      text: "Hello {{name}}",
    });

    const unsupplied = (await w.service.addRecipients(draft.id, range(2, 2)))._unsafeUnwrapErr();
    const tooLong = (
      await w.service.addRecipients(draft.id, [
        { recipientId: 2, chatId: 2, variables: { name: "Bo" } },
        { recipientId: 3, chatId: 3, variables: { name: "x".repeat(4091) } },
      ])
    )._unsafeUnwrapErr();
    const streamedBadly = (
      await w.service.addRecipients(
        draft.id,
        streamed([...range(2, 300), { recipientId: 302, chatId: "bad" }]),
      )
    )._unsafeUnwrapErr();

    expect(paths(unsupplied)).toEqual(["message.text"]);
    expect(paths(tooLong)).toEqual(["recipients.1"]);
    expect(paths(streamedBadly)).toEqual(["recipients.300.chatId"]);
    expect(await total(draft.id)).toBe(1);
    const fine = await w.service.addRecipients(draft.id, [
      { recipientId: 2, chatId: 2, variables: { name: "Bo" } },
    ]);
    expect(fine._unsafeUnwrap().totalRecipients).toBe(2);
  });

  it("refuses a broadcast that is no longer a draft, an unknown one and a bad id", async () => {
    const scheduled = (
      await w.service.create({
        message: { text: "Hi" },
        recipients: range(1, 1),
        scheduledAt: new Date(START.getTime() + MINUTE),
      })
    )._unsafeUnwrap();
    const sending = await w.started(2);

    expect((await w.service.addRecipients(scheduled.id, range(2, 1)))._unsafeUnwrapErr()).toEqual({
      type: "invalid_transition",
      broadcastId: scheduled.id,
      from: "scheduled",
      to: "draft",
    });
    expect((await w.service.addRecipients(sending.id, range(3, 1)))._unsafeUnwrapErr()).toMatchObject({
      type: "invalid_transition",
      from: "sending",
    });
    expect((await w.service.addRecipients(999_999, range(1, 1)))._unsafeUnwrapErr()).toEqual({
      type: "not_found",
      broadcastId: 999_999,
    });
    expect(paths((await w.service.addRecipients(-1, range(1, 1)))._unsafeUnwrapErr())).toEqual(["id"]);
    expect(await total(sending.id)).toBe(2);
  });

  it("answers a start that won the race with invalid_transition, adding nothing", async () => {
    const draft = await w.create(range(1, 2));
    w.faults.before("appendRecipients", async () => {
      (await w.service.start(draft.id))._unsafeUnwrap();
    });

    const refused = (await w.service.addRecipients(draft.id, range(3, 2)))._unsafeUnwrapErr();

    expect(refused).toMatchObject({ type: "invalid_transition", from: "sending", to: "draft" });
    expect(await total(draft.id)).toBe(2);
  });

  it("reports a store failure as a storage error and logs its cause", async () => {
    const draft = await w.create(range(1, 1));
    w.faults.failNext("appendRecipients");

    const failed = (await w.service.addRecipients(draft.id, range(2, 1)))._unsafeUnwrapErr();

    expect(failed).toMatchObject({ type: "storage" });
    expect(w.logs.some((log) => log.level === "error" && String(log.fields.err).includes("injected"))).toBe(
      true,
    );
    expect(await total(draft.id)).toBe(1);
  });
});
