import { describeStoreConformance } from "broadcastkit/testing/conformance";
import { closePostgresStore, freshPostgresStore } from "../../support/postgres.js";

describeStoreConformance("PostgreSQL, a schema of its own per test", freshPostgresStore, {
  close: closePostgresStore,
});
