export { POSTGRES_MIGRATIONS, type PostgresMigration } from "./schema.js";
export {
  createPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
  type PostgresStoreSettings,
} from "./store.js";
