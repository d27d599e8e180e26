/**
 * Counts arrivals (epoch ms, e.g. the look-alike's `requests[].at`) against a per-second limit.
 * Windows are sliding one-second windows, wherever they start: the window closing at an arrival
 * holds it and every arrival less than 1,000 ms before it.
 */
export interface WindowCount {
  /** Arrivals counted in the measured span. */
  readonly sent: number;
  readonly seconds: number;
  readonly achievedPerSecond: number;
  /** `achievedPerSecond / limit`. */
  readonly share: number;
  /** The most arrivals in any one-second window (over every arrival given, not only the span). */
  readonly busiestWindow: number;
  /** Arrivals that close a one-second window holding more than `limit` (over every arrival given). */
  readonly windowsOver: number;
}

/** A measured span, `[from, to)` in epoch ms. */
export interface Span {
  readonly from: number;
  readonly to: number;
}

/**
 * The rate is measured over `span` (a ramp-up left out, say); without one, over the arrivals' own
 * span, as gaps per second (`(n − 1) / (last − first)`). Windows are checked over every arrival,
 * ramp-up included: a window over the limit counts wherever it is.
 */
export function countWindows(arrivals: readonly number[], limit: number, span?: Span): WindowCount {
  const times = [...arrivals].sort((a, b) => a - b);
  let busiestWindow = 0;
  let windowsOver = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= 1000) first++;
    const inWindow = last - first + 1;
    busiestWindow = Math.max(busiestWindow, inWindow);
    if (inWindow > limit) windowsOver++;
  }
  let sent: number;
  let seconds: number;
  let achievedPerSecond: number;
  if (span === undefined) {
    sent = times.length;
    seconds = times.length < 2 ? 0 : ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    achievedPerSecond = seconds === 0 ? 0 : (sent - 1) / seconds;
  } else {
    sent = times.filter((t) => t >= span.from && t < span.to).length;
    seconds = (span.to - span.from) / 1000;
    achievedPerSecond = seconds === 0 ? 0 : sent / seconds;
  }
  return { sent, seconds, achievedPerSecond, share: achievedPerSecond / limit, busiestWindow, windowsOver };
}
