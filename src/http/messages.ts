import type { BroadcastStatus } from "../core/types.js";

export const LOCALES = ["en", "ru"] as const;
export type Locale = (typeof LOCALES)[number];

export const isLocale = (value: unknown): value is Locale => value === "en" || value === "ru";

/** Every text the HTTP layer shows a client, in one place per language. */
export interface MessageCatalog {
  readonly cancelled: string;
  readonly retryQueued: (count: number) => string;
  readonly nothingToRetry: string;
  readonly broadcastNotFound: (id: number) => string;
  readonly routeNotFound: (method: string, path: string) => string;
  readonly invalidTransition: (id: number, from: BroadcastStatus, to: BroadcastStatus) => string;
  readonly validation: (fields: string) => string;
  readonly unauthorized: string;
  readonly forbidden: string;
  readonly methodNotAllowed: (method: string, allowed: readonly string[]) => string;
  readonly conflict: (id: number) => string;
  readonly payloadTooLarge: (maxBytes: number) => string;
  readonly internal: string;
}

/** The word forms a count may need, keyed by the CLDR plural category `Intl.PluralRules` picks. */
type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { readonly other: string };

function plural(locale: Locale, forms: PluralForms): (count: number) => string {
  const rules = new Intl.PluralRules(locale);
  return (count) => forms[rules.select(count)] ?? forms.other;
}

const recipientsEn = plural("en", { one: "recipient", other: "recipients" });

/**
 * After «для» the noun is genitive: singular for one (1, 21, 101), plural for few and many
 * (2, 5, 11, 40). Fractions (`other`) take the singular genitive, as in «для 1,5 получателя».
 */
const recipientsRu = plural("ru", {
  one: "получателя",
  few: "получателей",
  many: "получателей",
  other: "получателя",
});

const bytesEn = plural("en", { one: "byte", other: "bytes" });
/** After «больше» the genitive again: «больше 1 байта», «больше 5 байт». */
const bytesRu = plural("ru", { one: "байта", few: "байт", many: "байт", other: "байта" });

export const MESSAGES: Readonly<Record<Locale, MessageCatalog>> = {
  en: {
    cancelled: "Broadcast cancelled",
    retryQueued: (count) => `Retry started for ${count} ${recipientsEn(count)}`,
    nothingToRetry: "No failed recipients to retry",
    broadcastNotFound: (id) => `Broadcast ${id} not found`,
    routeNotFound: (method, path) => `No route for ${method} ${path}`,
    invalidTransition: (id, from, to) => `Broadcast ${id} cannot go from ${from} to ${to}`,
    validation: (fields) => `Invalid input: ${fields}`,
    unauthorized: "Authentication required",
    forbidden: "Not allowed",
    methodNotAllowed: (method, allowed) => `Method ${method} not allowed here; use ${allowed.join(", ")}`,
    conflict: (id) => `Broadcast ${id} was changed by another request; try again`,
    payloadTooLarge: (maxBytes) => `Request body is larger than ${maxBytes} ${bytesEn(maxBytes)}`,
    internal: "Internal server error",
  },
  ru: {
    cancelled: "Рассылка успешно отменена",
    retryQueued: (count) => `Повторная отправка запущена для ${count} ${recipientsRu(count)}`,
    nothingToRetry: "Нет получателей для повторной отправки",
    broadcastNotFound: (id) => `Рассылка ${id} не найдена`,
    routeNotFound: (method, path) => `Нет маршрута для ${method} ${path}`,
    invalidTransition: (id, from, to) => `Рассылку ${id} нельзя перевести из статуса ${from} в ${to}`,
    validation: (fields) => `Некорректные данные: ${fields}`,
    unauthorized: "Требуется аутентификация",
    forbidden: "Доступ запрещён",
    methodNotAllowed: (method, allowed) =>
      `Метод ${method} здесь не поддерживается; допустимо: ${allowed.join(", ")}`,
    conflict: (id) => `Рассылка ${id} изменена другим запросом; повторите попытку`,
    payloadTooLarge: (maxBytes) => `Тело запроса больше ${maxBytes} ${bytesRu(maxBytes)}`,
    internal: "Внутренняя ошибка сервера",
  },
};
