import { addMilliseconds } from "date-fns";

/**
 * How transient failures are retried: retry n (1-based) waits
 * `baseDelayMs * factor^(n-1)`, capped at `maxDelayMs`, then spread by `jitter`.
 * The default is the seed's schedule exactly: 60 s, 120 s, 240 s, then the recipient fails.
 */
export interface RetryPolicy {
  /** Automatic retries after the first attempt. */
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly factor: number;
  readonly maxDelayMs: number;
  /**
   * Share of the delay drawn at random, 0..1: with 0.2 a 60 s delay lands in [48 s, 72 s].
   * 0 (the default) keeps the seed's exact schedule.
   */
  readonly jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 60_000,
  factor: 2,
  maxDelayMs: 24 * 60 * 60_000,
  jitter: 0,
};

/** A source of numbers in [0, 1); injected so the core stays deterministic under test. */
export type RandomSource = () => number;

export const retryPolicy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  ...DEFAULT_RETRY_POLICY,
  ...overrides,
});

/** Whether a recipient that has made `attempts` attempts may make another one. */
export const mayRetry = (policy: RetryPolicy, attempts: number): boolean => attempts <= policy.maxRetries;

/** The delay before retry `retryNumber` (1-based); `random` is only drawn when jitter is on. */
export function retryDelayMs(
  policy: RetryPolicy,
  retryNumber: number,
  random: RandomSource = () => 0.5,
): number {
  const exponent = Math.max(0, retryNumber - 1);
  // A zero base stays zero however far the factor grows (0 × Infinity would be NaN).
  const grown = policy.baseDelayMs === 0 ? 0 : policy.baseDelayMs * policy.factor ** exponent;
  const raw = Math.min(policy.maxDelayMs, grown);
  if (policy.jitter <= 0) return raw;
  const spread = raw * Math.min(1, policy.jitter);
  return Math.max(0, Math.round(raw - spread + 2 * spread * random()));
}

/** When retry `retryNumber` is due, honouring a longer wait the platform asked for (429 `retry_after`). */
export function nextAttemptAt(
  policy: RetryPolicy,
  retryNumber: number,
  now: Date,
  random?: RandomSource,
  atLeastMs = 0,
): Date {
  return addMilliseconds(now, Math.max(atLeastMs, retryDelayMs(policy, retryNumber, random)));
}
