import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_POLICY,
  mayRetry,
  nextAttemptAt,
  type RetryPolicy,
  retryDelayMs,
  retryPolicy,
} from "../../src/core/retry-policy.js";
import { T0 } from "./fixtures.js";

const policyArb = (jitter: fc.Arbitrary<number>): fc.Arbitrary<RetryPolicy> =>
  fc.record({
    maxRetries: fc.nat(10),
    baseDelayMs: fc.oneof(fc.constant(0), fc.nat(3_600_000)),
    factor: fc.double({ min: 1, max: 10, noNaN: true }),
    maxDelayMs: fc.nat(7 * 24 * 3_600_000),
    jitter,
  });
const exactPolicyArb = policyArb(fc.constant(0));
const jitteredPolicyArb = policyArb(fc.double({ min: 0, max: 1, noNaN: true }));
/** Far beyond any sane retry count, so growth overflows to Infinity on the way. */
const retryNumberArb = fc.oneof(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 2_000 }));
const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** The delay before jitter: base × factor^(n-1), capped. */
const rawDelay = (p: RetryPolicy, n: number): number => retryDelayMs({ ...p, jitter: 0 }, n);

describe("retry policy (§5)", () => {
  it("waits exactly 60 s, 120 s and 240 s by default (the seed's schedule)", () => {
    expect([1, 2, 3].map((n) => retryDelayMs(DEFAULT_RETRY_POLICY, n))).toEqual([60_000, 120_000, 240_000]);
  });

  it("allows at most 3 retries by default: a 4th attempt is the last", () => {
    expect(DEFAULT_RETRY_POLICY.maxRetries).toBe(3);
    expect([1, 2, 3, 4].map((attempts) => mayRetry(DEFAULT_RETRY_POLICY, attempts))).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it("has no jitter by default, whatever the random source says", () => {
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 1, () => 0.99)).toBe(60_000);
  });

  it("takes overrides and keeps the other defaults", () => {
    expect(retryPolicy({ maxRetries: 5 })).toEqual({ ...DEFAULT_RETRY_POLICY, maxRetries: 5 });
  });

  it("dates the next attempt from now, honouring a longer wait the platform asked for", () => {
    expect(nextAttemptAt(DEFAULT_RETRY_POLICY, 2, T0)).toEqual(new Date(T0.getTime() + 120_000));
    expect(nextAttemptAt(DEFAULT_RETRY_POLICY, 1, T0, undefined, 90_000)).toEqual(
      new Date(T0.getTime() + 90_000),
    );
    expect(nextAttemptAt(DEFAULT_RETRY_POLICY, 1, T0, undefined, 5_000)).toEqual(
      new Date(T0.getTime() + 60_000),
    );
  });

  it("with jitter 0.2 spreads a 60 s delay over [48 s, 72 s]", () => {
    const policy = retryPolicy({ jitter: 0.2 });
    expect(retryDelayMs(policy, 1, () => 0)).toBe(48_000);
    expect(retryDelayMs(policy, 1, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(policy, 1, () => 0.999_999)).toBe(72_000);
  });

  test.prop([exactPolicyArb, retryNumberArb])(
    "without jitter, later retries never wait less than earlier ones",
    (policy, n) => {
      expect(retryDelayMs(policy, n + 1)).toBeGreaterThanOrEqual(retryDelayMs(policy, n));
    },
  );

  test.prop([exactPolicyArb, retryNumberArb])(
    "a delay is a finite number of ms within [0, maxDelayMs]",
    (policy, n) => {
      const delay = retryDelayMs(policy, n);
      expect(Number.isFinite(delay)).toBe(true);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
    },
  );

  test.prop([jitteredPolicyArb, retryNumberArb, randomArb])(
    "jitter keeps the delay within [raw × (1 - j), raw × (1 + j)] for any random draw in [0, 1)",
    (policy, n, r) => {
      const raw = rawDelay(policy, n);
      const delay = retryDelayMs(policy, n, () => r);
      expect(Number.isFinite(delay)).toBe(true);
      // Delays are whole milliseconds, so the bounds are rounded outward.
      expect(delay).toBeGreaterThanOrEqual(Math.floor(raw * (1 - policy.jitter)));
      expect(delay).toBeLessThanOrEqual(Math.ceil(raw * (1 + policy.jitter)));
    },
  );

  test.prop([exactPolicyArb, fc.nat(20)])(
    "mayRetry allows exactly maxRetries retries after the first attempt",
    (policy, attempts) => {
      expect(mayRetry(policy, attempts)).toBe(attempts <= policy.maxRetries);
    },
  );
});
