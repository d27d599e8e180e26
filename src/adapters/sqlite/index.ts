export { SQLITE_MIGRATIONS, type SqliteMigration } from "./schema.js";
export {
  createSqliteStore,
  type SqliteStore,
  type SqliteStoreOptions,
  type SqliteStoreSettings,
} from "./store.js";
