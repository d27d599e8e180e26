import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteStore, type SqliteStore } from "broadcastkit/sqlite";
import { describeStoreConformance } from "broadcastkit/testing/conformance";
import { afterAll } from "vitest";

const directory = mkdtempSync(join(tmpdir(), "bk-sqlite-conformance-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;

describeStoreConformance(
  "SQLite, a database file",
  () => createSqliteStore({ filename: join(directory, `store-${++files}.db`) }),
  { close: (store) => (store as SqliteStore).close() },
);

describeStoreConformance("SQLite, in memory", () => createSqliteStore({ filename: ":memory:" }), {
  close: (store) => (store as SqliteStore).close(),
});
