import { describe, expect, it } from "vitest";
import { describeTrial, prng, runTrial, type TrialSettings } from "./support/crash-trial.js";

/**
 * The crash suite: real worker processes on PostgreSQL and BullMQ send one broadcast while workers
 * are SIGKILLed and replaced, one is SIGSTOPped past its lease and then goes on with stale claims,
 * the trial's own Redis restarts empty, and workers' PostgreSQL backends are terminated mid-call
 * (support/crash-trial.ts). Whatever happens: nobody is lost, nobody unexpected is sent, every
 * duplicate is accounted for by a send its process never saw stored (none at all under
 * at-most-once), a cancel stops sends within the lanes in flight, the counters match the rows at
 * every sample, and the broadcast reaches its final status by itself.
 *
 * `npm test` runs one seed per variant; `npm run test:soak` (BROADCASTKIT_SOAK=1) runs ten from a
 * seed of the moment (BROADCASTKIT_CRASH_SEEDS sets how many). A failure names its seed:
 * BROADCASTKIT_CRASH_SEED=<seed> replays it in every variant (add `-t at-most-once` for one).
 */

const SOAK = process.env.BROADCASTKIT_SOAK === "1";
const REPLAY = process.env.BROADCASTKIT_CRASH_SEED;
const SEEDS = REPLAY !== undefined ? 1 : Number(process.env.BROADCASTKIT_CRASH_SEEDS ?? (SOAK ? 10 : 1));
const FIRST_SEED = SOAK ? Date.now() % 1_000_000 : 1;
const seedOf = (variant: number, i: number) =>
  REPLAY !== undefined ? Number(REPLAY) : FIRST_SEED + variant * 1000 + i;

const VARIANTS = [
  { guarantee: "at-least-once", cancel: false },
  { guarantee: "at-most-once", cancel: false },
  { guarantee: "at-least-once", cancel: true },
  ...(SOAK ? [{ guarantee: "at-most-once", cancel: true } as const] : []),
] as const;

/** The seed also picks the batch (so kills land mid-claim at different depths) and the lease. */
const settingsFor = (seed: number, variant: (typeof VARIANTS)[number]): TrialSettings => {
  const shape = prng(seed ^ 0x9e3779b9);
  return {
    seed,
    ...variant,
    recipients: 4000,
    workers: 3,
    concurrency: 2,
    batchSize: [50, 100, 200][Math.floor(shape() * 3)]!,
    leaseMs: 1500 + Math.floor(shape() * 500),
    sendMs: 8,
    finishWithinMs: 90_000,
  };
};

describe("crash suite: processes killed, stopped, cut off from PostgreSQL and Redis mid-broadcast", () => {
  VARIANTS.forEach((variant, v) => {
    for (let i = 0; i < SEEDS; i++) {
      const seed = seedOf(v, i);
      const name = `${variant.guarantee}${variant.cancel ? ", cancelled midway" : ""}, seed ${seed}`;
      it(name, { timeout: 180_000 }, async () => {
        const report = await runTrial(settingsFor(seed, variant)).catch((error: unknown) => {
          throw new Error(`crash trial seed ${seed} (${name}) failed: ${String(error)}`, { cause: error });
        });
        console.log(describeTrial(report));
        const failed = `seed ${seed}, journals kept in ${report.journals}`;
        const { tally } = report;
        expect(report.finished, `${failed}: finished by itself`).toBe(true);
        expect(report.sampleViolations, `${failed}: counters against rows`).toEqual([]);
        expect(tally.lost, `${failed}: lost`).toBe(0);
        expect(tally.unexpected, `${failed}: unexpected`).toBe(0);
        expect(tally.sent + tally.failed + tally.pending, `${failed}: rows`).toBe(tally.total);
        if (variant.guarantee === "at-most-once") expect(tally.duplicates, `${failed}: duplicates`).toBe(0);
        else expect(tally.unexplained, `${failed}: duplicates not from unrecorded sends`).toBe(0);
        expect(tally.duplicates, `${failed}: duplicates`).toBeLessThanOrEqual(tally.unrecordedByHarmed);
        if (variant.cancel) {
          expect(tally.afterCancel, `${failed}: sends after cancel`).toBeLessThanOrEqual(
            report.afterCancelBound,
          );
        } else {
          expect(tally.pending, `${failed}: pending`).toBe(0);
        }
        if (variant.guarantee === "at-least-once" && !variant.cancel)
          expect(tally.failed, `${failed}: failed`).toBe(0);
        expect(report.finalStatus, `${failed}: final status`).toBe(report.expectedStatus);
      });
    }
  });
});
