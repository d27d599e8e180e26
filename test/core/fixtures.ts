import type { Broadcast } from "../../src/core/types.js";

export const T0 = new Date("2030-01-01T00:00:00.000Z");
export const LATER = new Date("2030-01-01T01:00:00.000Z");

/** A stored broadcast as the core sees it; every field can be overridden. */
export function aBroadcast(overrides: Partial<Broadcast> = {}): Broadcast {
  return {
    id: 7,
    status: "draft",
    message: { text: "hello" },
    createdBy: null,
    errorThreshold: null,
    totalRecipients: 10,
    sentCount: 0,
    failedCount: 0,
    errorCounts: {},
    errorLog: [],
    pauseReason: null,
    createdAt: T0,
    scheduledAt: null,
    sentAt: null,
    completedAt: null,
    version: 1,
    ...overrides,
  };
}
