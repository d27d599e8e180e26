/** Timestamps in the browser's own time zone and language; the server wrote them in UTC. */
export function localizeTimes(root: ParentNode, locale: string): void {
  for (const time of root.querySelectorAll<HTMLTimeElement>("time[datetime]")) showTime(time, locale);
}

export function showTime(time: HTMLTimeElement, locale: string): void {
  const instant = new Date(time.dateTime);
  if (Number.isNaN(instant.getTime())) return;
  time.textContent = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" }).format(
    instant,
  );
  time.title = instant.toISOString();
}

/** The browser's zone, named for people: "Europe/Moscow". */
export const browserTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;
