import { createMemoryStore } from "broadcastkit/memory";
import { describeStoreConformance } from "broadcastkit/testing";

describeStoreConformance("memory", () => createMemoryStore());
