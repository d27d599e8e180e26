/** The word forms a count may need, keyed by the CLDR plural category `Intl.PluralRules` picks. */
export type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { readonly other: string };

/** The word for a count in a language, by its plural rules (`1 recipient`, `2 recipients`). */
export function plural(locale: string, forms: PluralForms): (count: number) => string {
  const rules = new Intl.PluralRules(locale);
  return (count) => forms[rules.select(count)] ?? forms.other;
}
