import { BROADCAST_MESSAGES, type BroadcastMessageCatalog, type Locale } from "../core/messages.js";
import { plural } from "../core/plural.js";

export { isLocale, LOCALES, type Locale } from "../core/messages.js";

/**
 * Every text the HTTP layer shows a client, in one place per language: the core's texts about
 * broadcasts (so the API and `formatBroadcastError` use the same words), and those only HTTP has.
 */
export interface MessageCatalog extends BroadcastMessageCatalog {
  readonly routeNotFound: (method: string, path: string) => string;
  readonly unauthorized: string;
  readonly forbidden: string;
  readonly methodNotAllowed: (method: string, allowed: readonly string[]) => string;
  readonly payloadTooLarge: (maxBytes: number) => string;
  readonly unsupportedMediaType: string;
  readonly internal: string;
}

const bytesEn = plural("en", { one: "byte", other: "bytes" });
/** After «больше» the genitive again: «больше 1 байта», «больше 5 байт». */
const bytesRu = plural("ru", { one: "байта", few: "байт", many: "байт", other: "байта" });

export const MESSAGES: Readonly<Record<Locale, MessageCatalog>> = {
  en: {
    ...BROADCAST_MESSAGES.en,
    routeNotFound: (method, path) => `No route for ${method} ${path}`,
    unauthorized: "Authentication required",
    forbidden: "Not allowed",
    methodNotAllowed: (method, allowed) => `Method ${method} not allowed here; use ${allowed.join(", ")}`,
    payloadTooLarge: (maxBytes) => `Request body is larger than ${maxBytes} ${bytesEn(maxBytes)}`,
    unsupportedMediaType: "Request body must be JSON, sent with Content-Type: application/json",
    internal: "Internal server error",
  },
  ru: {
    ...BROADCAST_MESSAGES.ru,
    routeNotFound: (method, path) => `Нет маршрута для ${method} ${path}`,
    unauthorized: "Требуется аутентификация",
    forbidden: "Доступ запрещён",
    methodNotAllowed: (method, allowed) =>
      `Метод ${method} здесь не поддерживается; допустимо: ${allowed.join(", ")}`,
    payloadTooLarge: (maxBytes) => `Тело запроса больше ${maxBytes} ${bytesRu(maxBytes)}`,
    unsupportedMediaType: "Тело запроса должно быть в JSON и отправлено с Content-Type: application/json",
    internal: "Внутренняя ошибка сервера",
  },
};
