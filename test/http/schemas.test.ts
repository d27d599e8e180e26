import { describe, expect, it } from "vitest";
import {
  createBodySchema,
  idSegmentSchema,
  listQuerySchema,
  parseWire,
  queryObject,
  retryBodySchema,
  scheduleBodySchema,
} from "../../src/http/schemas.js";

const issuesOf = (result: ReturnType<typeof parseWire>) => {
  const error = result._unsafeUnwrapErr();
  if (error.type !== "validation") throw new Error(`expected a validation error, got ${error.type}`);
  return error.issues;
};

describe("broadcast ids in the path", () => {
  it.each(["1", "42", "9007199254740991"])("accepts %s", (segment) => {
    expect(idSegmentSchema.parse(segment)).toBe(Number(segment));
  });

  it.each([
    "abc",
    "0",
    "-1",
    "1.5",
    "99999999999999999999",
    "9007199254740992",
    "01",
    "1e3",
    " 1",
    "0x10",
    "",
  ])("refuses %j with one issue", (segment) => {
    expect(idSegmentSchema.safeParse(segment).error?.issues).toHaveLength(1);
  });
});

describe("the create body", () => {
  it("translates snake_case to the service's input", () => {
    const input = parseWire(createBodySchema, {
      message: { text: "Hi {{name}}", parse_mode: "HTML" },
      recipients: [
        { recipient_id: 1, chat_id: 100, variables: { name: "Ann" } },
        { recipient_id: "u2", chat_id: "@channel_name" },
      ],
      scheduled_at: "2030-01-01T10:00:00+03:00",
      error_threshold: 5,
    })._unsafeUnwrap();
    expect(input).toEqual({
      message: { text: "Hi {{name}}", parseMode: "HTML" },
      recipients: [
        { recipientId: 1, chatId: 100, variables: { name: "Ann" } },
        { recipientId: "u2", chatId: "@channel_name" },
      ],
      scheduledAt: new Date("2030-01-01T07:00:00Z"),
      errorThreshold: 5,
    });
  });

  it("accepts a message given as plain text, and null for optional fields", () => {
    const input = parseWire(createBodySchema, {
      message: "Hello",
      recipients: [],
      scheduled_at: null,
      error_threshold: null,
    })._unsafeUnwrap();
    expect(input).toEqual({ message: { text: "Hello" }, recipients: [] });
  });

  it("names each unknown field by its path", () => {
    const issues = issuesOf(
      parseWire(createBodySchema, {
        message: "Hi",
        recipients: [{ recipient_id: 1, chat_id: 1, chatId: 1 }],
        priority: "high",
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: "priority", message: "unknown field" },
        { path: "recipients.0.chatId", message: 'unknown field; did you mean "chat_id"?' },
      ]),
    );
  });

  it("names wrongly typed fields in snake_case", () => {
    const issues = issuesOf(
      parseWire(createBodySchema, {
        message: 5,
        recipients: [{ recipient_id: -1, chat_id: "not a chat" }],
        scheduled_at: "tomorrow",
        error_threshold: 0,
      }),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      "error_threshold",
      "message",
      "recipients.0.chat_id",
      "recipients.0.recipient_id",
      "scheduled_at",
    ]);
  });

  it("requires a message and recipients", () => {
    const paths = issuesOf(parseWire(createBodySchema, {})).map((issue) => issue.path);
    expect(paths.sort()).toEqual(["message", "recipients"]);
  });

  it("refuses a body that is not an object as a whole", () => {
    expect(issuesOf(parseWire(createBodySchema, [1, 2]))).toEqual([expect.objectContaining({ path: "" })]);
  });
});

describe("the other bodies", () => {
  it("schedule needs a timestamp with a time zone", () => {
    expect(parseWire(scheduleBodySchema, { scheduled_at: "2030-01-01T00:00:00Z" })._unsafeUnwrap()).toEqual(
      new Date("2030-01-01T00:00:00Z"),
    );
    expect(issuesOf(parseWire(scheduleBodySchema, { scheduled_at: "2030-01-01T00:00:00" }))[0]?.path).toBe(
      "scheduled_at",
    );
    expect(issuesOf(parseWire(scheduleBodySchema, {}))[0]?.path).toBe("scheduled_at");
  });

  it("retry takes an optional include_permanent", () => {
    expect(parseWire(retryBodySchema, {})._unsafeUnwrap()).toEqual({});
    expect(parseWire(retryBodySchema, { include_permanent: true })._unsafeUnwrap()).toEqual({
      includePermanent: true,
    });
    expect(issuesOf(parseWire(retryBodySchema, { include_permanent: "yes" }))[0]?.path).toBe(
      "include_permanent",
    );
  });
});

describe("query parameters", () => {
  const query = (text: string) =>
    queryObject(new URLSearchParams(text), ["status", "limit", "cursor"]).andThen((values) =>
      parseWire(listQuerySchema, values),
    );

  it("parses status, limit and cursor and ignores others", () => {
    expect(query("status=sent&limit=20&cursor=abc&token=secret")._unsafeUnwrap()).toEqual({
      status: "sent",
      limit: 20,
      cursor: "abc",
    });
  });

  it.each(["limit=0", "limit=1001", "limit=ten", "limit=1.5", "status=processing", "cursor="])(
    "refuses %s naming the parameter",
    (text) => {
      const name = text.split("=")[0];
      expect(issuesOf(query(text))[0]?.path).toBe(name);
    },
  );

  it("refuses a parameter given twice", () => {
    expect(issuesOf(query("status=sent&status=failed"))).toEqual([
      { path: "status", message: "must be given once" },
    ]);
  });
});
