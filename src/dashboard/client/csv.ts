import Papa from "papaparse";
import type { DashboardCatalog } from "../messages.js";
import type { RecipientWire } from "./wire.js";

export interface CsvRecipient extends RecipientWire {
  /** The line of the file it came from (1 is the header), to name it in errors. */
  readonly line: number;
}

export interface CsvProblem {
  readonly line: number;
  readonly message: string;
}

export interface ParsedCsv {
  readonly recipients: readonly CsvRecipient[];
  /** Column names after recipient_id and chat_id: the template's variables. */
  readonly variables: readonly string[];
  readonly problems: readonly CsvProblem[];
}

const INTEGER = /^-?[0-9]+$/;
const CHANNEL = /^@[A-Za-z0-9_]{1,64}$/;

const asInteger = (text: string): number | null => {
  if (!INTEGER.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
};

/**
 * `recipient_id,chat_id[,variables…]` with a header line, parsed by PapaParse (quotes, commas and
 * line breaks inside fields, a byte-order mark, `\r\n`). Integer ids become numbers, as the API
 * compares them; anything else stays text. Empty variable cells are left out, so the template's
 * default applies. Duplicates and the rest of the rules are the API's to check.
 */
export function parseRecipientsCsv(text: string, catalog: DashboardCatalog): ParsedCsv {
  const result = Papa.parse<string[]>(text.replace(/^\uFEFF/, ""), { delimiter: ",", skipEmptyLines: false });
  const problems: CsvProblem[] = result.errors.map((error) => ({
    line: (error.row ?? 0) + 1,
    message: error.message,
  }));
  const [header = [], ...rows] = result.data;
  const names = header.map((name) => name.trim());
  const recipientAt = names.indexOf("recipient_id");
  const chatAt = names.indexOf("chat_id");
  if (recipientAt === -1 || chatAt === -1) {
    return text.trim() === ""
      ? { recipients: [], variables: [], problems: [] }
      : { recipients: [], variables: [], problems: [{ line: 1, message: catalog.create.missingColumns }] };
  }
  const variableColumns = names
    .map((name, index) => ({ name, index }))
    .filter(({ name, index }) => name !== "" && index !== recipientAt && index !== chatAt);
  const recipients: CsvRecipient[] = [];
  rows.forEach((row, index) => {
    const line = index + 2;
    if (row.every((cell) => cell.trim() === "")) return;
    const recipientText = (row[recipientAt] ?? "").trim();
    const chatText = (row[chatAt] ?? "").trim();
    if (recipientText === "") {
      problems.push({ line, message: catalog.create.badRecipientId });
      return;
    }
    const chatId = asInteger(chatText) ?? (CHANNEL.test(chatText) ? chatText : null);
    if (chatId === null) {
      problems.push({ line, message: catalog.create.badChatId });
      return;
    }
    const variables: Record<string, string> = Object.create(null);
    let any = false;
    for (const { name, index: at } of variableColumns) {
      const value = row[at] ?? "";
      if (value === "") continue;
      variables[name] = value;
      any = true;
    }
    recipients.push({
      line,
      recipient_id: asInteger(recipientText) ?? recipientText,
      chat_id: chatId,
      ...(any ? { variables } : {}),
    });
  });
  problems.sort((a, b) => a.line - b.line);
  return { recipients, variables: variableColumns.map(({ name }) => name), problems };
}
