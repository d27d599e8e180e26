import Database from "better-sqlite3";
import { describeStoreConformance } from "broadcastkit/testing/conformance";
import { createCampaignStore } from "../../../examples/custom-store/campaign-store.js";

// The host-written store of docs/custom-store.md, proven the way a host proves its own.
describeStoreConformance("the custom-store example (a host's own SQLite tables)", () =>
  createCampaignStore(new Database(":memory:")),
);
