import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { matchRoute } from "../../src/http/routes.js";
import { BASE, type Harness, snapshot, startHarness } from "./harness.js";

/** Recipients in wire shape, `from`..`from + n - 1`. */
const wireRange = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ recipient_id: from + i, chat_id: 1_000_000 + from + i }));

/** As many recipients as fit one request under the default 1 MB body limit, with room to spare. */
const CHUNK = 12_000;

describe("POST {base}/{id}/recipients/ adds recipients to a draft", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it("is routed next to the listing of recipients", () => {
    expect(matchRoute(BASE, `${BASE}/7/recipients/`, "POST")).toEqual({
      type: "matched",
      operation: "add_recipients",
      idSegment: "7",
    });
    expect(matchRoute(BASE, `${BASE}/7/recipients`, "PUT")).toEqual({
      type: "method_not_allowed",
      allowed: ["GET", "POST"],
    });
  });

  it("builds a broadcast larger than one request allows, chunk by chunk, and sends it", async () => {
    const created = await h.api("POST", `${BASE}/`, {
      body: { message: "Hi", recipients: wireRange(1, CHUNK) },
    });
    expect(created.status).toBe(201);
    const id = created.json.data.id as number;
    const oneBody = JSON.stringify({ recipients: wireRange(1, CHUNK) }).length;
    expect(oneBody).toBeLessThan(1_000_000);

    for (let chunk = 1; chunk < 3; chunk += 1) {
      const added = await h.api("POST", `${BASE}/${id}/recipients/`, {
        body: { recipients: wireRange(chunk * CHUNK + 1, CHUNK) },
      });
      expect(added.status).toBe(200);
      expect(added.json).toMatchObject({
        success: true,
        data: {
          id,
          status: "draft",
          total_recipients: (chunk + 1) * CHUNK,
          pending_count: (chunk + 1) * CHUNK,
        },
      });
    }

    expect((await h.api("POST", `${BASE}/${id}/send/`)).status).toBe(200);
    await h.settle();
    const progress = (await h.api("GET", `${BASE}/${id}/progress/`)).json.data;
    expect(progress).toMatchObject({ status: "sent", total_recipients: 3 * CHUNK, sent_count: 3 * CHUNK });
  });

  it("takes variables, and answers the broadcast in full", async () => {
    const id = await h.createBroadcast(1, "Hi {{name|friend}}");
    const { status, json } = await h.api("POST", `${BASE}/${id}/recipients`, {
      body: { recipients: [{ recipient_id: "u-2", chat_id: "@news_channel", variables: { name: "Ann" } }] },
    });
    expect(status).toBe(200);
    expect(json.data).toMatchObject({ id, total_recipients: 2, error_counts: {}, error_log: [] });
    const listed = (await h.api("GET", `${BASE}/${id}/recipients/`)).json.data.items;
    expect(listed[1]).toMatchObject({
      recipient_id: "u-2",
      chat_id: "@news_channel",
      variables: { name: "Ann" },
    });
  });

  it.each([
    [
      "an id already in the broadcast",
      { recipients: [...wireRange(5, 1), ...wireRange(2, 1)] },
      ["recipients.1.recipient_id"],
    ],
    [
      "an id twice in the body (and so its chat too)",
      { recipients: [...wireRange(5, 2), ...wireRange(6, 1)] },
      ["recipients.2.recipient_id", "recipients.2.chat_id"],
    ],
    [
      "an unknown recipient field",
      { recipients: [{ recipient_id: 9, chat_id: 9, name: "x" }] },
      ["recipients.0.name"],
    ],
    ["a wrong chat id", { recipients: [{ recipient_id: 9, chat_id: "nobody" }] }, ["recipients.0.chat_id"]],
    ["an unknown field", { recipients: [], message: "Hi" }, ["message"]],
    ["no recipients field", {}, ["recipients"]],
  ])("refuses %s with 400, naming the field, and changes nothing", async (_name, body, paths) => {
    const id = await h.createBroadcast(3);
    const before = await snapshot(h.service);
    const { status, json } = await h.api("POST", `${BASE}/${id}/recipients/`, { body });
    expect(status).toBe(400);
    expect(json.error.code).toBe("validation");
    expect(json.error.issues.map((issue: { path: string }) => issue.path)).toEqual(paths);
    expect(await snapshot(h.service)).toBe(before);
  });

  it("refuses a missing body, an unknown broadcast and one that is no longer a draft", async () => {
    const id = await h.createBroadcast(1);
    expect((await h.api("POST", `${BASE}/${id}/recipients/`)).status).toBe(400);
    const unknown = await h.api("POST", `${BASE}/424242/recipients/`, {
      body: { recipients: wireRange(1, 1) },
    });
    expect(unknown).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
    expect((await h.api("POST", `${BASE}/${id}/send/`)).status).toBe(200);
    const sending = await h.api("POST", `${BASE}/${id}/recipients/`, {
      body: { recipients: wireRange(2, 1) },
    });
    expect(sending).toMatchObject({ status: 400, json: { error: { code: "invalid_transition" } } });
    expect(sending.json.error.message).toContain("sending");
  });
});
