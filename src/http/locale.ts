import { isLocale, type Locale } from "./messages.js";

/** A fixed language, or one chosen per request (see `localeFromAcceptLanguage`). */
export type LocaleOption = Locale | ((request: Request) => Locale);

/**
 * The first supported language the client's `Accept-Language` prefers (by `q`, then by order),
 * or `fallback`. `ru-RU` counts as `ru`.
 */
export function localeFromAcceptLanguage(request: Request, fallback: Locale = "en"): Locale {
  const header = request.headers.get("accept-language");
  if (header === null) return fallback;
  const ranked = header
    .split(",")
    .map((part, order) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      const weight = q === undefined ? 1 : Number(q.slice(2));
      return { language: tag.trim().toLowerCase().split("-")[0] ?? "", weight, order };
    })
    .filter(({ weight }) => Number.isFinite(weight) && weight > 0)
    .sort((a, b) => b.weight - a.weight || a.order - b.order);
  const preferred = ranked.find(({ language }) => isLocale(language))?.language;
  return isLocale(preferred) ? preferred : fallback;
}

/** A locale function that throws or answers an unknown language does not fail the request. */
export function resolveLocale(option: LocaleOption, request: Request): Locale {
  if (typeof option !== "function") return option;
  try {
    const chosen = option(request);
    return isLocale(chosen) ? chosen : "en";
  } catch {
    return "en";
  }
}
