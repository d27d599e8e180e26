import { plural } from "./plural.js";
import type { BroadcastStatus } from "./types.js";

export const LOCALES = ["en", "ru"] as const;
export type Locale = (typeof LOCALES)[number];

export const isLocale = (value: unknown): value is Locale => value === "en" || value === "ru";

/**
 * Every text the library shows about broadcasts, in one place per language. The HTTP layer
 * answers with these same texts and adds its own (routes, authorization, bodies).
 */
export interface BroadcastMessageCatalog {
  readonly cancelled: string;
  readonly retryQueued: (count: number) => string;
  readonly nothingToRetry: string;
  readonly broadcastNotFound: (id: number) => string;
  readonly invalidTransition: (id: number, from: BroadcastStatus, to: BroadcastStatus) => string;
  /** `fields` lists the refused fields with their reasons (see `describeIssues`). */
  readonly validation: (fields: string) => string;
  readonly conflict: (id: number) => string;
  /** Says nothing of the cause, which may hold SQL or connection strings: that is for logs. */
  readonly storage: string;
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

export const BROADCAST_MESSAGES: Readonly<Record<Locale, BroadcastMessageCatalog>> = {
  en: {
    cancelled: "Broadcast cancelled",
    retryQueued: (count) => `Retry started for ${count} ${recipientsEn(count)}`,
    nothingToRetry: "No failed recipients to retry",
    broadcastNotFound: (id) => `Broadcast ${id} not found`,
    invalidTransition: (id, from, to) => `Broadcast ${id} cannot go from ${from} to ${to}`,
    validation: (fields) => `Invalid input: ${fields}`,
    conflict: (id) => `Broadcast ${id} was changed by another request; try again`,
    storage: "The store or the queue failed",
  },
  ru: {
    cancelled: "Рассылка успешно отменена",
    retryQueued: (count) => `Повторная отправка запущена для ${count} ${recipientsRu(count)}`,
    nothingToRetry: "Нет получателей для повторной отправки",
    broadcastNotFound: (id) => `Рассылка ${id} не найдена`,
    invalidTransition: (id, from, to) => `Рассылку ${id} нельзя перевести из статуса ${from} в ${to}`,
    validation: (fields) => `Некорректные данные: ${fields}`,
    conflict: (id) => `Рассылка ${id} изменена другим запросом; повторите попытку`,
    storage: "Сбой хранилища или очереди",
  },
};
