import { type BroadcastError, type BroadcastErrorType, formatBroadcastError, LOCALES } from "broadcastkit";
import { describe, expect, it } from "vitest";

/** One error of every type, so a new type without a text fails to compile here. */
const EXAMPLES = {
  not_found: { type: "not_found", broadcastId: 7 },
  invalid_transition: { type: "invalid_transition", broadcastId: 7, from: "completed", to: "cancelled" },
  validation: {
    type: "validation",
    issues: [
      { path: "recipients.3.chatId", message: "must be an integer chat id or @channelusername" },
      { path: "", message: "must be an object" },
    ],
  },
  conflict: { type: "conflict", broadcastId: 7 },
  lease_lost: { type: "lease_lost", broadcastId: 7 },
  storage: { type: "storage", cause: new Error("connect ECONNREFUSED postgres://app:hunter2@db") },
} as const satisfies Record<BroadcastErrorType, BroadcastError>;

const TEXTS: Record<(typeof LOCALES)[number], Record<BroadcastErrorType, string>> = {
  en: {
    not_found: "Broadcast 7 not found",
    invalid_transition: "Broadcast 7 cannot go from completed to cancelled",
    validation:
      "Invalid input: recipients.3.chatId: must be an integer chat id or @channelusername; body: must be an object",
    conflict: "Broadcast 7 was changed by another request; try again",
    lease_lost: "Broadcast 7 was changed by another request; try again",
    storage: "The store or the queue failed",
  },
  ru: {
    not_found: "Рассылка 7 не найдена",
    invalid_transition: "Рассылку 7 нельзя перевести из статуса completed в cancelled",
    validation:
      "Некорректные данные: recipients.3.chatId: must be an integer chat id or @channelusername; body: must be an object",
    conflict: "Рассылка 7 изменена другим запросом; повторите попытку",
    lease_lost: "Рассылка 7 изменена другим запросом; повторите попытку",
    storage: "Сбой хранилища или очереди",
  },
};

describe("formatBroadcastError", () => {
  describe.each(LOCALES)("in %s", (locale) => {
    it.each(Object.keys(EXAMPLES) as BroadcastErrorType[])("says what a %s error means", (type) => {
      expect(formatBroadcastError(EXAMPLES[type], { locale })).toBe(TEXTS[locale][type]);
    });
  });

  it("speaks English when no locale is given, or one it does not know", () => {
    expect(formatBroadcastError(EXAMPLES.not_found)).toBe("Broadcast 7 not found");
    expect(formatBroadcastError(EXAMPLES.not_found, { locale: "fr" as never })).toBe("Broadcast 7 not found");
  });

  it("never shows a storage failure's cause", () => {
    for (const locale of LOCALES) {
      expect(formatBroadcastError(EXAMPLES.storage, { locale })).not.toMatch(/hunter2|ECONNREFUSED|postgres/);
    }
  });

  it("lists at most five refused fields and counts the rest", () => {
    const issues = Array.from({ length: 8 }, (_, i) => ({ path: `recipients.${i}.chatId`, message: "bad" }));
    expect(formatBroadcastError({ type: "validation", issues })).toBe(
      "Invalid input: recipients.0.chatId: bad; recipients.1.chatId: bad; recipients.2.chatId: bad; " +
        "recipients.3.chatId: bad; recipients.4.chatId: bad; +3 more",
    );
  });
});
