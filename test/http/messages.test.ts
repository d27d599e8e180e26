import { describe, expect, it } from "vitest";
import { MESSAGES } from "../../src/http/messages.js";

describe("message catalogs", () => {
  it("reproduce the seed's Russian texts exactly", () => {
    expect(MESSAGES.ru.cancelled).toBe("Рассылка успешно отменена");
    expect(MESSAGES.ru.retryQueued(40)).toBe("Повторная отправка запущена для 40 получателей");
    expect(MESSAGES.ru.nothingToRetry).toBe("Нет получателей для повторной отправки");
  });

  it("have the English counterparts", () => {
    expect(MESSAGES.en.cancelled).toBe("Broadcast cancelled");
    expect(MESSAGES.en.retryQueued(40)).toBe("Retry started for 40 recipients");
    expect(MESSAGES.en.nothingToRetry).toBe("No failed recipients to retry");
  });

  it.each([
    [1, "для 1 получателя"],
    [21, "для 21 получателя"],
    [101, "для 101 получателя"],
    [2, "для 2 получателей"],
    [3, "для 3 получателей"],
    [22, "для 22 получателей"],
    [5, "для 5 получателей"],
    [11, "для 11 получателей"],
    [12, "для 12 получателей"],
    [40, "для 40 получателей"],
    [111, "для 111 получателей"],
  ])("ru: %i recipients -> '%s' (genitive after «для»)", (count, phrase) => {
    expect(MESSAGES.ru.retryQueued(count)).toBe(`Повторная отправка запущена ${phrase}`);
  });

  it.each([
    [1, "for 1 recipient"],
    [2, "for 2 recipients"],
    [21, "for 21 recipients"],
    [40, "for 40 recipients"],
  ])("en: %i recipients -> '%s'", (count, phrase) => {
    expect(MESSAGES.en.retryQueued(count)).toBe(`Retry started ${phrase}`);
  });

  it("count bytes with the plural rules too", () => {
    expect(MESSAGES.en.payloadTooLarge(1)).toBe("Request body is larger than 1 byte");
    expect(MESSAGES.en.payloadTooLarge(1_000_000)).toBe("Request body is larger than 1000000 bytes");
    expect(MESSAGES.ru.payloadTooLarge(1)).toBe("Тело запроса больше 1 байта");
    expect(MESSAGES.ru.payloadTooLarge(5)).toBe("Тело запроса больше 5 байт");
  });

  it("have every entry in both languages", () => {
    expect(Object.keys(MESSAGES.ru).sort()).toEqual(Object.keys(MESSAGES.en).sort());
  });
});
