import { randomBytes } from "node:crypto";
import { createPostgresStore, type PostgresStore, type PostgresStoreSettings } from "broadcastkit/postgres";
import pg from "pg";

/** The server the PostgreSQL tests use. A missing server fails them: they never skip. */
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let shared: pg.Pool | null = null;

/** One pool per test process, shared by every store the tests make (each in its own schema). */
export function testPool(): pg.Pool {
  shared ??= new pg.Pool({ connectionString: DATABASE_URL, max: 10, allowExitOnIdle: true });
  return shared;
}

let counter = 0;

/** A schema no other test run, file or test uses: `bk_test_<pid>_<counter>_<random>`. */
export function uniqueSchema(): string {
  counter += 1;
  return `bk_test_${process.pid}_${counter}_${randomBytes(4).toString("hex")}`;
}

export async function dropSchema(schema: string, pool: pg.Pool = testPool()): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
}

export interface TestPostgresStore {
  readonly store: PostgresStore;
  readonly schema: string;
  close(): Promise<void>;
}

/** A fresh store in a fresh schema of the shared pool; `close()` drops the schema. */
export async function makePostgresStore(
  settings: Omit<PostgresStoreSettings, "schema"> = {},
): Promise<TestPostgresStore> {
  const schema = uniqueSchema();
  const store = createPostgresStore({ pool: testPool(), schema, ...settings });
  return { store, schema, close: () => dropSchema(schema) };
}

const schemas = new WeakMap<object, string>();

/** For `describeStoreConformance`: a store whose schema `closePostgresStore` drops. */
export async function freshPostgresStore(): Promise<PostgresStore> {
  const made = await makePostgresStore();
  schemas.set(made.store, made.schema);
  return made.store;
}

export async function closePostgresStore(store: object): Promise<void> {
  const schema = schemas.get(store);
  if (schema !== undefined) await dropSchema(schema);
}
