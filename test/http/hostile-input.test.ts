import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { BASE, type Harness, snapshot, startHarness } from "./harness.js";

const NUL = "\u0000";
const LONE_HIGH = "\ud83d";
const LONE_LOW = "\ude00";

/** Bodies the validator must refuse, because no store could keep them as sent. */
const REFUSED: readonly [string, Record<string, unknown>, string][] = [
  [
    "a NUL in the message",
    { message: `Hi${NUL}there`, recipients: [{ recipient_id: 1, chat_id: 1 }] },
    "message.text",
  ],
  [
    "a NUL in the message object's text",
    { message: { text: `Hi${NUL}`, parse_mode: "HTML" }, recipients: [{ recipient_id: 1, chat_id: 1 }] },
    "message.text",
  ],
  ["a lone high surrogate in the message", { message: `Hi ${LONE_HIGH}`, recipients: [] }, "message.text"],
  ["a lone low surrogate in the message", { message: `${LONE_LOW} Hi`, recipients: [] }, "message.text"],
  [
    "a NUL in a string recipient id",
    { message: "Hi", recipients: [{ recipient_id: `crm${NUL}1`, chat_id: 1 }] },
    "recipients.0.recipient_id",
  ],
  [
    "a lone surrogate in a string recipient id",
    { message: "Hi", recipients: [{ recipient_id: `crm${LONE_HIGH}`, chat_id: 1 }] },
    "recipients.0.recipient_id",
  ],
  [
    "a NUL in a variable's value",
    { message: "Hi {{name}}", recipients: [{ recipient_id: 1, chat_id: 1, variables: { name: `A${NUL}` } }] },
    "recipients.0.variables.name",
  ],
  [
    "a lone surrogate in a variable's value",
    { message: "Hi {{name}}", recipients: [{ recipient_id: 1, chat_id: 1, variables: { name: LONE_LOW } }] },
    "recipients.0.variables.name",
  ],
  [
    "a NUL in a variable's name",
    { message: "Hi", recipients: [{ recipient_id: 1, chat_id: 1, variables: { [`n${NUL}`]: "A" } }] },
    `recipients.0.variables.n${NUL}`,
  ],
  [
    "a NUL in a @channel chat id",
    { message: "Hi", recipients: [{ recipient_id: 1, chat_id: `@channel${NUL}` }] },
    "recipients.0.chat_id",
  ],
  [
    "an error_threshold beyond PostgreSQL's INTEGER",
    { message: "Hi", recipients: [], error_threshold: 2_147_483_648 },
    "error_threshold",
  ],
  [
    "a recipient id beyond safe integers",
    { message: "Hi", recipients: [{ recipient_id: 2 ** 53, chat_id: 1 }] },
    "recipients.0.recipient_id",
  ],
  [
    "a chat id beyond safe integers",
    { message: "Hi", recipients: [{ recipient_id: 1, chat_id: -(2 ** 53) }] },
    "recipients.0.chat_id",
  ],
];

describe.each(storeFactories)("hostile input over HTTP, on the $name store", (factory) => {
  let h: Harness;
  let closeStore: () => Promise<void>;
  beforeEach(async () => {
    const made = await factory.make();
    closeStore = made.close;
    h = await startHarness({ store: made.store });
  });
  afterEach(async () => {
    await h.close();
    await closeStore();
  });

  it.each(REFUSED)("refuses %s with 400 naming the field, and stores nothing", async (_, body, path) => {
    const before = await snapshot(h.service);

    const { status, json } = await h.api("POST", `${BASE}/`, { body });

    expect(status).toBe(400);
    expect(json.error.code).toBe("validation");
    expect(json.error.issues).toEqual([{ path, message: expect.any(String) }]);
    expect(await snapshot(h.service)).toBe(before);
  });

  it("stores every other text exactly as sent: pairs, emoji, Cyrillic, other control characters", async () => {
    const text = "Привет {{name}} 🚀 \ud83d\ude00 \u0001\u001f e\u0301";
    const name = "Ада 👩‍💻 \u0007";
    const created = await h.api("POST", `${BASE}/`, {
      body: { message: text, recipients: [{ recipient_id: "crm-🚀-1", chat_id: 1, variables: { name } }] },
    });
    expect(created.status).toBe(201);
    expect(created.json.data.message.text).toBe(text);

    const recipients = await h.api("GET", `${BASE}/${created.json.data.id}/recipients/`);
    expect(recipients.json.data.items).toEqual([
      expect.objectContaining({ recipient_id: "crm-🚀-1", variables: { name } }),
    ]);
  });

  it("keeps variables named after Object.prototype's members, and renders them", async () => {
    const raw =
      '{"message": "{{__proto__}}/{{constructor}}/{{toString}}/{{hasOwnProperty}}", "recipients": [' +
      '{"recipient_id": 1, "chat_id": 1, "variables": {"__proto__": "p", "constructor": "c", "toString": "t", "hasOwnProperty": "h"}}]}';

    const created = await h.api("POST", `${BASE}/`, {
      rawBody: raw,
      headers: { "content-type": "application/json" },
    });
    expect(created.status).toBe(201);
    const id = created.json.data.id;
    const listed = await h.api("GET", `${BASE}/${id}/recipients/`);
    expect(listed.json.data.items[0].variables).toEqual({
      ["__proto__"]: "p",
      constructor: "c",
      toString: "t",
      hasOwnProperty: "h",
    });
    expect(Object.keys(listed.json.data.items[0].variables)).toEqual([
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
    ]);

    await h.api("POST", `${BASE}/${id}/send/`);
    await h.settle();
    expect(h.sentTexts()).toEqual(["p/c/t/h"]);
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
    "names an unknown field %s as the client spelled it",
    async (name) => {
      const raw = `{"message": "Hi", "recipients": [{"recipient_id": 1, "chat_id": 1, "${name}": 1}], "${name}": 2}`;
      const { status, json } = await h.api("POST", `${BASE}/`, {
        rawBody: raw,
        headers: { "content-type": "application/json" },
      });
      expect(status).toBe(400);
      expect(json.error.issues).toEqual([
        { path: `recipients.0.${name}`, message: "unknown field" },
        { path: name, message: "unknown field" },
      ]);
      expect(json.error.message).toBe(
        `Invalid input: recipients.0.${name}: unknown field; ${name}: unknown field`,
      );
    },
  );

  it("names a variable's refused value under a prototype member's name", async () => {
    const raw =
      '{"message": "Hi", "recipients": [{"recipient_id": 1, "chat_id": 1, "variables": {"constructor": []}}]}';
    const { status, json } = await h.api("POST", `${BASE}/`, {
      rawBody: raw,
      headers: { "content-type": "application/json" },
    });
    expect(status).toBe(400);
    expect(json.error.issues).toEqual([
      { path: "recipients.0.variables.constructor", message: expect.any(String) },
    ]);
  });
});
