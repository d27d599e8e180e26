import { createMemoryStore } from "broadcastkit/memory";
import { describeStoreConformance } from "broadcastkit/testing/conformance";

describeStoreConformance("memory", () => createMemoryStore());
