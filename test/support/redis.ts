/** The Redis the tests use. A missing server fails them: they never skip. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** `REDIS_URL` as ioredis/BullMQ connection options. */
export function redisConnection(url = REDIS_URL): {
  host: string;
  port: number;
  db: number;
  password?: string;
} {
  const parsed = new URL(url);
  const db = Number(parsed.pathname.replace("/", "") || "0");
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    db,
    ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
  };
}

/** Deletes the keys the tests' BullMQ queues left (matching `pattern`, e.g. `bull:bk-test-*`). */
export async function dropBullmqKeys(pattern: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
