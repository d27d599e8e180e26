import { localeFromAcceptLanguage } from "broadcastkit/http";
import { afterEach, describe, expect, it } from "vitest";
import { BASE, type Harness, startHarness } from "./harness.js";

const withLanguage = (value: string | null) =>
  new Request("http://x/", value === null ? {} : { headers: { "accept-language": value } });

describe("choosing the language from Accept-Language", () => {
  it.each([
    ["ru-RU,ru;q=0.9,en;q=0.8", "ru"],
    ["en-US,en;q=0.9,ru;q=0.8", "en"],
    ["de-DE,ru;q=0.5", "ru"],
    ["en;q=0.1, ru;q=0.9", "ru"],
    ["ru;q=0, en", "en"],
    ["de, fr", "en"],
    ["", "en"],
    [null, "en"],
  ])("%j -> %s", (header, locale) => {
    expect(localeFromAcceptLanguage(withLanguage(header))).toBe(locale);
  });

  it("falls back to the given language", () => {
    expect(localeFromAcceptLanguage(withLanguage("de"), "ru")).toBe("ru");
  });
});

describe("messages in the request's language", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** A completed broadcast with `failed` failed recipients (and one delivered), retried over HTTP. */
  async function retryMessage(failed: number, language: string): Promise<string> {
    h = await startHarness({ handler: { locale: localeFromAcceptLanguage } });
    h.respondWith((id) =>
      id === 1
        ? { status: "delivered" }
        : { status: "failed", kind: "transient", description: "Network timeout" },
    );
    const id = await h.createBroadcast(failed + 1);
    await h.api("POST", `${BASE}/${id}/send/`);
    await h.settle();
    const { status, json } = await h.api("POST", `${BASE}/${id}/retry/`, {
      headers: { "accept-language": language },
    });
    expect(status).toBe(200);
    expect(json.data.retried_count).toBe(failed);
    return json.data.message;
  }

  it.each([
    [1, "ru", "Повторная отправка запущена для 1 получателя"],
    [21, "ru", "Повторная отправка запущена для 21 получателя"],
    [2, "ru", "Повторная отправка запущена для 2 получателей"],
    [5, "ru", "Повторная отправка запущена для 5 получателей"],
    [11, "ru", "Повторная отправка запущена для 11 получателей"],
    [1, "en", "Retry started for 1 recipient"],
    [2, "en", "Retry started for 2 recipients"],
  ])("retry of %i failed, %s: %s", async (failed, language, message) => {
    expect(await retryMessage(failed, language)).toBe(message);
  });

  it("cancel and errors follow the language too", async () => {
    h = await startHarness({ handler: { locale: localeFromAcceptLanguage } });
    const id = await h.createBroadcast(1);
    const ru = { headers: { "accept-language": "ru" } };

    expect((await h.api("GET", `${BASE}/9/`, ru)).json.error.message).toBe("Рассылка 9 не найдена");
    expect((await h.api("GET", `${BASE}/9/`)).json.error.message).toBe("Broadcast 9 not found");
    expect((await h.api("POST", `${BASE}/${id}/cancel/`, ru)).json.data.message).toBe(
      "Рассылка успешно отменена",
    );
    expect((await h.api("POST", `${BASE}/${id}/cancel/`, ru)).json.error.message).toBe(
      `Рассылку ${id} нельзя перевести из статуса cancelled в cancelled`,
    );
    expect((await h.api("GET", `${BASE}/`, { ...ru, anonymous: true })).json.error.message).toBe(
      "Требуется аутентификация",
    );
  });

  it("a locale function that throws falls back to English", async () => {
    h = await startHarness({
      handler: {
        locale: () => {
          throw new Error("no language");
        },
      },
    });
    const { status, json } = await h.api("GET", `${BASE}/9/`);
    expect(status).toBe(404);
    expect(json.error.message).toBe("Broadcast 9 not found");
  });
});
