/**
 * One trial of the crash suite: a coordinator (this process) runs K worker processes
 * (fixtures/cluster-worker.ts) on PostgreSQL and a redis-server of its own, sends one broadcast,
 * and does harm at random moments drawn from a seed: SIGKILLs workers (starting replacements),
 * SIGSTOPs one past its lease then lets it go on with stale claims, restarts Redis empty,
 * terminates a worker's PostgreSQL backends mid-call, and (a variant) cancels midway. A sampler
 * checks the counters against the rows in one snapshot all along; at the end the journals and the
 * rows give the tally (crash-tally.ts).
 *
 * Every child is ended in `finally`, whatever happened.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createBullmqQueue } from "../../../../src/adapters/bullmq/index.js";
import { createPostgresStore } from "../../../../src/adapters/postgres/index.js";
import { quoteIdentifier } from "../../../../src/adapters/postgres/schema.js";
import { createBroadcastService, type DeliveryGuarantee } from "../../../../src/index.js";
import { DATABASE_URL, dropSchema, testPool, uniqueSchema } from "../../../support/postgres.js";
import { seededRandom } from "../../../support/seeded-random.js";
import type { ClusterWorkerConfig } from "../fixtures/cluster-worker.js";
import { killWorker, readJournals, sleep, startWorker, type WorkerProcess } from "./cluster.js";
import { computeTally, type FinalRow, type Tally } from "./crash-tally.js";
import { type OwnRedis, startOwnRedis } from "./redis-server.js";

export interface TrialSettings {
  readonly seed: number;
  readonly guarantee: DeliveryGuarantee;
  readonly cancel: boolean;
  readonly recipients: number;
  readonly workers: number;
  /** Send lanes per send job. */
  readonly concurrency: number;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly sendMs: number;
  /** The broadcast must reach a final status by itself within this long. */
  readonly finishWithinMs: number;
}

export interface TrialReport {
  readonly settings: TrialSettings;
  readonly tally: Tally;
  /** The most sends that may start after `cancel` answered (see `afterCancelBound`). */
  readonly afterCancelBound: number;
  readonly finalStatus: string;
  /** What the final-status rule says the counters call for (or `cancelled`). */
  readonly expectedStatus: string;
  readonly samples: number;
  /** Samples where counters and rows disagreed, or processed went backwards: each described. */
  readonly sampleViolations: readonly string[];
  readonly finished: boolean;
  readonly harm: {
    readonly kills: number;
    readonly stops: number;
    readonly terminatedBackends: number;
    /** Of those, the ones in the middle of a statement. */
    readonly terminatedMidQuery: number;
    readonly redisRestarts: number;
  };
  readonly wallMs: number;
  /** Kept when the trial failed, for a look at the journals. */
  readonly journals: string;
}

/** A seeded PRNG, so a seed replays the same plan of harm. */
export const prng = seededRandom;

/** Harm to do once the broadcast has processed `at` (a share of its recipients). */
type Harm =
  | { readonly type: "kill"; readonly at: number }
  | { readonly type: "stop"; readonly at: number; readonly holdMs: number }
  | { readonly type: "redis"; readonly at: number; readonly downMs: number }
  | { readonly type: "terminate"; readonly at: number }
  | { readonly type: "cancel"; readonly at: number };

function planHarm(settings: TrialSettings, random: () => number): Harm[] {
  const between = (from: number, to: number) => from + random() * (to - from);
  const plan: Harm[] = [];
  const kills = 2 + Math.floor(random() * 2);
  for (let i = 0; i < kills; i++) plan.push({ type: "kill", at: between(0.03, 0.75) });
  // Past the lease and past BullMQ's lock (max(1000, lease) + a 500 ms stalled check): both the
  // recipients and the job are taken over while it sleeps.
  plan.push({ type: "stop", at: between(0.05, 0.45), holdMs: settings.leaseMs + between(800, 1600) });
  plan.push({ type: "redis", at: between(0.2, 0.6), downMs: between(100, 600) });
  for (let i = 0; i < 3; i++) plan.push({ type: "terminate", at: between(0.03, 0.85) });
  if (!settings.cancel) return plan.sort((a, b) => a.at - b.at);
  // Cancelled midway: the harm is done before the cancel (a stopped worker may still sleep through it).
  const cancelAt = between(0.35, 0.65);
  const before = plan.map((step) => ({ ...step, at: step.at * cancelAt }));
  return [...before, { type: "cancel" as const, at: cancelAt }].sort((a, b) => a.at - b.at);
}

/**
 * Sends that may start after `cancel` answered: the sends in flight, lanes × send jobs.
 *
 * `cancel` answers once no recipient is under a live lease. A run holding a live lease renews it
 * and reads the status every `statusPollMs`, so before that it has stopped starting sends and
 * released what it held; a claim made after the cancel answers the cancelled status and sends
 * nothing; a run whose lease lapsed under it (the SIGSTOPped process, waking up) starts nothing
 * before it has renewed what it still holds and read the status again. What is left is a send that
 * passed its lane's lease check just before the cancel's last look and journals its attempt just
 * after: at most one per lane. Each of the `workers` send jobs (parallelism) runs `concurrency`
 * lanes, and a stalled job put back by BullMQ may run twice for a while (the stale run and the
 * re-queued one): lanes × jobs × 2.
 */
export function afterCancelBound(settings: TrialSettings): number {
  return settings.concurrency * settings.workers * 2;
}

const FINAL = new Set(["sent", "completed", "failed", "cancelled"]);

interface Sample {
  readonly status: string;
  readonly processed: number;
}

/** One snapshot (REPEATABLE READ): the folded counters against a COUNT of the rows by state. */
async function sampleOnce(
  client: pg.Client,
  schema: string,
  broadcastId: number,
  total: number,
  violations: string[],
  previous: Sample | null,
): Promise<Sample> {
  const s = quoteIdentifier(schema);
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const counted = await client.query<{ status: string; recipients: number; sent: number; failed: number }>(
      `SELECT b.status, b.recipient_count::int AS recipients,
         (b.sent_count + coalesce((SELECT sum(c.sent) FROM ${s}.broadcast_counters c WHERE c.broadcast_id = b.id), 0))::int AS sent,
         (b.failed_count + coalesce((SELECT sum(c.failed) FROM ${s}.broadcast_counters c WHERE c.broadcast_id = b.id), 0))::int AS failed
       FROM ${s}.broadcasts b WHERE b.id = $1`,
      [broadcastId],
    );
    const rows = await client.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM ${s}.broadcast_recipients WHERE broadcast_id = $1 GROUP BY state`,
      [broadcastId],
    );
    await client.query("COMMIT");
    const c = counted.rows[0]!;
    const by = new Map(rows.rows.map((row) => [row.state, row.n]));
    const rowSent = by.get("sent") ?? 0;
    const rowFailed = by.get("failed") ?? 0;
    const rowPending = by.get("pending") ?? 0;
    const rowTotal = rowSent + rowFailed + rowPending;
    const pending = c.recipients - c.sent - c.failed;
    const at = `${c.status} counters sent ${c.sent} failed ${c.failed} pending ${pending} of ${c.recipients}; rows sent ${rowSent} failed ${rowFailed} pending ${rowPending} of ${rowTotal}`;
    if (c.sent !== rowSent || c.failed !== rowFailed || pending !== rowPending || c.recipients !== total)
      violations.push(`counters and rows disagree: ${at}`);
    if (rowTotal !== total || by.size > 3) violations.push(`rows are not the broadcast's ${total}: ${at}`);
    const processed = c.sent + c.failed;
    if (previous !== null && processed < previous.processed)
      violations.push(`processed went back from ${previous.processed}: ${at}`);
    if (previous !== null && FINAL.has(previous.status) && c.status !== previous.status)
      violations.push(`final status ${previous.status} changed: ${at}`);
    return { status: c.status, processed };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

export async function runTrial(settings: TrialSettings): Promise<TrialReport> {
  const started = Date.now();
  const random = prng(settings.seed);
  const plan = planHarm(settings, random);
  const schema = uniqueSchema();
  const queueName = `bk-crash-${settings.seed}`;
  const journals = mkdtempSync(join(tmpdir(), `bk-crash-${settings.seed}-`));
  const all: WorkerProcess[] = [];
  let redis: OwnRedis | null = null;
  let sampler: pg.Client | null = null;
  let adminQueue: ReturnType<typeof createBullmqQueue> | null = null;
  let passed = false;
  try {
    redis = await startOwnRedis();
    const store = createPostgresStore({ pool: testPool(), schema });
    await store.migrate();
    const base: Omit<ClusterWorkerConfig, "journal" | "applicationName"> = {
      databaseUrl: DATABASE_URL,
      schema,
      redis: { host: redis.host, port: redis.port },
      queueName,
      guarantee: settings.guarantee,
      concurrency: settings.concurrency,
      batchSize: settings.batchSize,
      leaseMs: settings.leaseMs,
      tickMs: 500,
      sendMs: settings.sendMs,
    };
    /** Live workers by journal number; a replacement gets the next number (a journal of its own). */
    const live = new Map<number, WorkerProcess>();
    let next = 0;
    const appName = (n: number) => `bk_crash_${process.pid}_${settings.seed}_${n}`.slice(0, 63);
    const spawnOne = (): WorkerProcess => {
      const n = next++;
      const worker = startWorker({ ...base, applicationName: appName(n) }, journals, n);
      all.push(worker);
      live.set(n, worker);
      return worker;
    };
    for (let i = 0; i < settings.workers; i++) spawnOne();
    await Promise.all([...live.values()].map((worker) => worker.ready));

    adminQueue = createBullmqQueue({
      connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: null },
      queueName,
    });
    const service = createBroadcastService({ store, queue: adminQueue });
    const chats = new Map<number, number>();
    for (let r = 1; r <= settings.recipients; r++) chats.set(r, 7_000_000 + r);
    const created = await service.create({
      message: { text: "Crash suite" },
      recipients: [...chats].map(([recipientId, chatId]) => ({ recipientId, chatId })),
    });
    const broadcastId = created._unsafeUnwrap().id;

    sampler = new pg.Client({ connectionString: DATABASE_URL, application_name: "bk_crash_sampler" });
    await sampler.connect();
    const violations: string[] = [];
    let samples = 0;
    let last: Sample | null = null;
    const sample = async () => {
      last = await sampleOnce(sampler!, schema, broadcastId, settings.recipients, violations, last);
      samples += 1;
      // The service's own read: its numbers add up whatever moment it lands on.
      const progress = (await service.getProgress(broadcastId))._unsafeUnwrap();
      const sum = progress.sentCount + progress.failedCount + progress.pendingCount;
      if (sum !== progress.totalRecipients || progress.totalRecipients !== settings.recipients)
        violations.push(`progress does not add up: ${JSON.stringify(progress)}`);
      return last;
    };

    (await service.start(broadcastId, { parallelism: settings.workers }))._unsafeUnwrap();

    const harm = { kills: 0, stops: 0, terminatedBackends: 0, terminatedMidQuery: 0, redisRestarts: 0 };
    const harmed = new Set<number>();
    const running = new Set<Promise<void>>();
    const failures: unknown[] = [];
    let stopped: number | null = null;
    let cancelReturnedAt: number | null = null;
    const pick = (candidates: number[]) => candidates[Math.floor(random() * candidates.length)]!;
    const s = quoteIdentifier(schema);
    /**
     * Of `candidates`, those holding a live lease on the broadcast now (worker ids are `pid-<pid>`),
     * so that a kill or a stop lands mid-claim; all of them when none does.
     */
    const holding = async (candidates: number[]): Promise<number[]> => {
      const owners = await testPool().query<{ owner: string }>(
        `SELECT owner FROM ${s}.broadcast_fresh_leases WHERE broadcast_id = $1 AND expires_at > now()
         UNION SELECT lease_owner FROM ${s}.broadcast_recipients
           WHERE broadcast_id = $1 AND state = 'pending' AND lease_expires_at > now()`,
        [broadcastId],
      );
      const held = new Set(owners.rows.map((row) => row.owner));
      const holders = candidates.filter((n) => held.has(`pid-${live.get(n)?.pid}`));
      return holders.length > 0 ? holders : candidates;
    };
    const act = async (step: Harm): Promise<void> => {
      switch (step.type) {
        case "kill": {
          const victims = [...live.keys()].filter((n) => n !== stopped);
          if (victims.length === 0) return;
          const n = pick(await holding(victims));
          const victim = live.get(n);
          // Killed meanwhile by another step, or stopped meanwhile: this step has no victim.
          if (victim === undefined || n === stopped) return;
          live.delete(n);
          harmed.add(n);
          await killWorker(victim);
          harm.kills += 1;
          const replacement = spawnOne();
          // A replacement may itself be killed before it is ready: that is harm, not a failure.
          await replacement.ready.catch((error: unknown) => {
            if ([...live.values()].includes(replacement)) throw error;
          });
          return;
        }
        case "stop": {
          const n = pick(await holding([...live.keys()]));
          const victim = live.get(n);
          if (victim === undefined || stopped !== null) return;
          stopped = n;
          harmed.add(n);
          victim.child.kill("SIGSTOP");
          harm.stops += 1;
          await sleep(step.holdMs);
          victim.child.kill("SIGCONT");
          stopped = null;
          return;
        }
        case "redis":
          await redis!.restart(step.downMs);
          harm.redisRestarts += 1;
          return;
        case "terminate": {
          const n = pick([...live.keys()]);
          harmed.add(n);
          // Mid-call: the worker's backends are watched until one runs a statement (a claim, a
          // write, a renewal), then those are terminated; after a second, whatever it has.
          const watchUntil = Date.now() + 1000;
          for (;;) {
            const midQuery = Date.now() < watchUntil;
            const terminated = await testPool().query<{ n: number }>(
              `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
               WHERE application_name = $1 AND ($2::boolean = false OR state = 'active')`,
              [appName(n), midQuery],
            );
            const count = terminated.rows[0]?.n ?? 0;
            if (count === 0 && midQuery) continue;
            harm.terminatedBackends += count;
            if (midQuery) harm.terminatedMidQuery += count;
            return;
          }
        }
        case "cancel":
          (await service.cancel(broadcastId))._unsafeUnwrap();
          cancelReturnedAt = Date.now();
          return;
      }
    };

    const giveUpAt = Date.now() + settings.finishWithinMs;
    let finished = false;
    for (;;) {
      const now = await sample();
      if (FINAL.has(now.status)) {
        finished = true;
        break;
      }
      if (Date.now() > giveUpAt) break;
      const share = now.processed / settings.recipients;
      while (plan.length > 0 && plan[0]!.at <= share) {
        const step = plan.shift()!;
        const doing = act(step)
          .catch((error: unknown) => {
            failures.push(error);
          })
          .finally(() => running.delete(doing));
        running.add(doing);
      }
      await sleep(50);
    }
    // Harm under way ends (a stopped worker wakes and goes on with its stale claims), then every
    // worker gets a lease's time to do whatever a stale run still does, and stops.
    while (running.size > 0) await Promise.all([...running]);
    await sleep(settings.leaseMs + 500);
    await Promise.all(
      [...live.values()].map(async (worker) => {
        worker.child.kill("SIGTERM");
        const exited = await Promise.race([worker.exited.then(() => true), sleep(10_000).then(() => false)]);
        if (!exited) await killWorker(worker);
      }),
    );
    await sample();
    if (failures.length > 0) throw failures[0];

    const finalRows = await testPool().query<{
      recipient_id: string;
      state: FinalRow["state"];
      last_error: string | null;
    }>(`SELECT recipient_id, state, last_error FROM ${s}.broadcast_recipients WHERE broadcast_id = $1`, [
      broadcastId,
    ]);
    const rows = finalRows.rows.map((row) => ({
      recipientId: Number(JSON.parse(row.recipient_id)),
      state: row.state,
      lastError: row.last_error,
    }));
    const tally = computeTally({
      guarantee: settings.guarantee,
      chats,
      journals: readJournals(journals),
      rows,
      harmed,
      cancelReturnedAt,
    });
    const final = (await service.get(broadcastId))._unsafeUnwrap();
    const expectedStatus = settings.cancel
      ? "cancelled"
      : final.failedCount === 0
        ? "sent"
        : final.sentCount === 0
          ? "failed"
          : "completed";
    const report: TrialReport = {
      settings,
      tally,
      afterCancelBound: afterCancelBound(settings),
      finalStatus: final.status,
      expectedStatus,
      samples,
      sampleViolations: violations,
      finished,
      harm,
      wallMs: Date.now() - started,
      journals,
    };
    passed = true;
    return report;
  } finally {
    await Promise.all(all.map((worker) => killWorker(worker)));
    await adminQueue?.close().catch(() => {});
    await sampler?.end().catch(() => {});
    await redis?.stop();
    await dropSchema(schema).catch(() => {});
    if (passed) rmSync(journals, { recursive: true, force: true });
  }
}

/** One line per trial. */
export function describeTrial(report: TrialReport): string {
  const { settings: s, tally: t, harm: h } = report;
  const variant = `${s.guarantee}${s.cancel ? "+cancel" : ""}`;
  return (
    `crash seed=${s.seed} ${variant} (batch ${s.batchSize}, lease ${s.leaseMs} ms): total ${t.total} attempts ${t.attempts} | sent ${t.sent} failed ${t.failed} ` +
    `(unknown ${t.unknown}) pending ${t.pending} | lost ${t.lost} unexpected ${t.unexpected} ` +
    `duplicates ${t.duplicates} (unrecorded ${t.unrecorded}, by harmed ${t.unrecordedByHarmed}, unexplained ${t.unexplained})` +
    ` | stale refused: writes ${t.refusedWrites} renewals ${t.refusedRenewals}` +
    (s.cancel ? ` after-cancel ${t.afterCancel}/${report.afterCancelBound}` : "") +
    ` | status ${report.finalStatus} (expected ${report.expectedStatus}) samples ${report.samples} ` +
    `violations ${report.sampleViolations.length} | kills ${h.kills} stops ${h.stops} ` +
    `backends ${h.terminatedBackends} (${h.terminatedMidQuery} mid-query) redis-restarts ${h.redisRestarts} | ${(report.wallMs / 1000).toFixed(1)} s`
  );
}
