import { fc, test } from "@fast-check/vitest";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { parseRecipientsCsv } from "../../src/dashboard/client/csv.js";
import { DASHBOARD_MESSAGES } from "../../src/dashboard/messages.js";

const en = DASHBOARD_MESSAGES.en;
const parse = (text: string) => parseRecipientsCsv(text, en);

describe("recipients from CSV (recipient_id,chat_id[,variables…])", () => {
  it("reads integer ids as numbers, @channels and other ids as text, and variables by their column", () => {
    const parsed = parse(
      "recipient_id,chat_id,name,city\n1,1001,Ada,London\nu-2,@news,,Paris\n3,-1002003,Linus,\n",
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.variables).toEqual(["name", "city"]);
    expect(parsed.recipients.map(({ line, ...r }) => [line, r])).toEqual([
      [2, { recipient_id: 1, chat_id: 1001, variables: { name: "Ada", city: "London" } }],
      [3, { recipient_id: "u-2", chat_id: "@news", variables: { city: "Paris" } }],
      [4, { recipient_id: 3, chat_id: -1002003, variables: { name: "Linus" } }],
    ]);
  });

  it("takes the columns in any order, a byte-order mark, CRLF line ends, quotes and blank lines", () => {
    const parsed = parse(
      '\uFEFFname,chat_id,recipient_id\r\n"Doe, Jane ""JD""",42,7\r\n\r\n"two\nlines",43,8\r\n',
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.recipients.map((r) => [r.recipient_id, r.chat_id, r.variables])).toEqual([
      [7, 42, { name: 'Doe, Jane "JD"' }],
      [8, 43, { name: "two\nlines" }],
    ]);
  });

  it("names the line of every recipient it cannot read, and needs both id columns", () => {
    expect(parse("recipient_id,chat_id\n1,12.5\n,5\n3,not a chat\n4,9007199254740993\n").problems).toEqual([
      { line: 2, message: en.create.badChatId },
      { line: 3, message: en.create.badRecipientId },
      { line: 4, message: en.create.badChatId },
      { line: 5, message: en.create.badChatId },
    ]);
    expect(parse("id,chat\n1,2\n").problems).toEqual([{ line: 1, message: en.create.missingColumns }]);
    expect(parse("  \n")).toEqual({ recipients: [], variables: [], problems: [] });
  });

  const cell = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() === s && !/^\uFEFF/.test(s));
  test.prop([
    fc.uniqueArray(fc.record({ id: fc.nat(), chat: fc.integer({ min: -1e12, max: 1e12 }), name: cell }), {
      selector: (r) => r.id,
      maxLength: 30,
    }),
  ])("reads back whatever PapaParse writes", (rows) => {
    const text = Papa.unparse({
      fields: ["recipient_id", "chat_id", "name"],
      data: rows.map((r) => [r.id, r.chat, r.name]),
    });
    const parsed = parse(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.recipients.map((r) => [r.recipient_id, r.chat_id, r.variables?.name])).toEqual(
      rows.map((r) => [r.id, r.chat, r.name]),
    );
  });
});
