/**
 * What every process of the cluster demo shares, read from the environment once. `run.ts` sets the
 * per-run names (schema, queue, limiter keys) and the look-alike's address for its children; the
 * rest have local defaults, the servers `npm test` uses.
 *
 *   DATABASE_URL        PostgreSQL (default postgres://postgres@127.0.0.1:5432/test)
 *   REDIS_URL           Redis, for BullMQ and the bot's shared limit (default redis://127.0.0.1:6379)
 *   CLUSTER_WORKERS     worker processes (default 3)
 *   CLUSTER_RECIPIENTS  recipients in the broadcast (default 50,000)
 *   CLUSTER_ROUND_TRIP  the simulated round trip to Telegram, ms (default 100)
 *   CLUSTER_LEASE_MS    how long a claim holds its recipients, ms (default 10,000)
 */
import type { Logger } from "broadcastkit";
import { createBullmqQueue } from "broadcastkit/bullmq";
import { createPostgresStore } from "broadcastkit/postgres";

const env = process.env;

export const DATABASE_URL = env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Names this run's schema, queue and limiter keys, so runs never share state. */
export const RUN_ID = env.CLUSTER_RUN_ID ?? "cluster_demo";
export const ADMIN_TOKEN = env.ADMIN_TOKEN ?? "cluster-demo-token";
/** A bot token the look-alike accepts (its numeric half names the bot in the limiter's keys). */
export const BOT_TOKEN = "7000000001:AAcluster-demo-not-a-real-token";
/** The Bot API the workers call: the look-alike `run.ts` started. */
export const BOT_API_ROOT = env.BOT_API_ROOT ?? "http://127.0.0.1:8081";

export const WORKERS = Number(env.CLUSTER_WORKERS ?? 3);
export const RECIPIENTS = Number(env.CLUSTER_RECIPIENTS ?? 50_000);
export const ROUND_TRIP_MS = Number(env.CLUSTER_ROUND_TRIP ?? 100);

/** A paid broadcast (`allow_paid_broadcast`): Telegram lets a bot send 1,000 messages a second. */
export const PAID_PER_SECOND = 1_000;

/**
 * Every worker process takes one send job of the broadcast, so `parallelism` is the number of
 * workers, and together they must keep rate × round trip sends in flight: 1,000/s × 0.1 s = 100.
 * Half as much again covers the round trip's jitter and a worker that is down for a while.
 */
export const PARALLELISM = WORKERS;
export const CONCURRENCY_PER_WORKER = Math.ceil((((PAID_PER_SECOND * ROUND_TRIP_MS) / 1000) * 1.5) / WORKERS);

/**
 * How long a claim holds its recipients (CLUSTER_LEASE_MS). The library's default is 30 s; the
 * demo keeps it short so the killed worker's recipients go back to the others within seconds, for
 * all to see. Much shorter risks live workers' leases running out on a loaded machine before they
 * are renewed (every third of it): harmless, but each such recipient may be sent twice.
 */
export const LEASE_MS = Number(env.CLUSTER_LEASE_MS ?? 10_000);

/** BullMQ's connection: the URL's parts; `maxRetriesPerRequest: null` as BullMQ's workers require. */
export function redisConnection() {
  const url = new URL(REDIS_URL);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) }),
    maxRetriesPerRequest: null,
  };
}

/** The store every process shares: one schema of one PostgreSQL database. */
export function openStore() {
  return createPostgresStore({ connectionString: DATABASE_URL, schema: RUN_ID, poolSize: 4 });
}

/**
 * The queue every process shares. `concurrency: 1`: a process runs one send job at a time, so a
 * broadcast started with `parallelism` N lands on N different workers (the scheduler's tick waits
 * for a free worker; give each process 2 if broadcasts must start on time while others send).
 */
export function openQueue() {
  return createBullmqQueue({ connection: redisConnection(), queueName: RUN_ID, concurrency: 1 });
}

/** Warnings and errors on one line each, prefixed with the process's name; long lists shown by their length. */
export function consoleLogger(name: string): Logger {
  const line = (fields: object, message: string | undefined) =>
    `[${name}] ${message ?? ""} ${JSON.stringify(fields, (_, value) => {
      if (value instanceof Error) return value.message;
      return Array.isArray(value) && value.length > 3 ? `${value.length} items` : value;
    })}`;
  return {
    debug: () => {},
    info: () => {},
    warn: (fields, message) => console.warn(line(fields, message)),
    error: (fields, message) => console.error(line(fields, message)),
  };
}
