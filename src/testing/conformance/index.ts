import { describe } from "vitest";
import { describeAppend } from "./append.js";
import { describeBroadcasts } from "./broadcasts.js";
import { describeClaims } from "./claims.js";
import { type MakeStore, type StoreConformanceOptions, useFreshStore } from "./fixtures.js";
import { describeHostileStrings } from "./hostile.js";
import { describeLeases } from "./leases.js";
import { describeOutcomes } from "./outcomes.js";
import { describeProperties } from "./properties.js";
import { describeRecipients } from "./recipients.js";
import { describeReset } from "./reset.js";
import { describeWebhookOutbox } from "./webhooks.js";

export type { MakeStore, StoreConformanceOptions } from "./fixtures.js";

/**
 * Declares a vitest suite that checks every promise of the `BroadcastStore` port (see
 * `src/ports/store.ts`) against your store: creation (all or nothing, async iterables), appending
 * to a draft (all or nothing, duplicates refused and named, racing appends), reads and
 * pagination, compare-and-set with one winner among racing callers, claims that never overlap,
 * increasing epochs, lease expiry, renewal and takeover, activity reads for recovery, stale writes
 * refused with `lease_lost`, counters
 * that always add up, the bounded error log, manual-retry resets, and exact round-trips of
 * 52-bit chat ids, `@channel` names, `1` versus `"1"` and hostile text: error descriptions, message
 * texts, ids and variable names such as `__proto__` or `constructor`, SQL- and JSON-looking text,
 * quotes, backslashes, emoji and RTL marks, with error counts, log and summary adding up exactly;
 * and the webhook outbox: every status change journaled with its event, deliveries per endpoint
 * (registration, event filter, leases, retries, settling) and the delivery log.
 *
 * `makeStore` must give a fresh, empty store for every test (a new database, or the same one
 * truncated); `options.close` releases it after the test. The suite passes every time in as data,
 * so your store needs no clock. Call it at the top level of a test file:
 *
 * ```ts
 * // test/my-store.conformance.test.ts
 * import { describeStoreConformance } from "broadcastkit/testing/conformance";
 * import { createMyStore } from "../src/my-store.js";
 *
 * describeStoreConformance(
 *   "my PostgreSQL store",
 *   async () => createMyStore(await freshDatabase()),
 *   { close: async (store) => (store as MyStore).end() },
 * );
 * ```
 *
 * Needs `vitest` and `fast-check` installed (as dev dependencies) in the host.
 */
export function describeStoreConformance(
  name: string,
  makeStore: MakeStore,
  options: StoreConformanceOptions = {},
): void {
  describe(`BroadcastStore conformance: ${name}`, () => {
    const ctx = useFreshStore(makeStore, options);
    describeBroadcasts(ctx);
    describeRecipients(ctx);
    describeAppend(ctx);
    describeClaims(ctx);
    describeOutcomes(ctx);
    describeLeases(ctx);
    describeReset(ctx);
    describeHostileStrings(ctx);
    describeProperties(ctx);
    describeWebhookOutbox(ctx);
  });
}

export {
  type ConformingQueue,
  describeQueueConformance,
  type MakeQueue,
  type QueueConformanceOptions,
  type QueueSettings,
} from "./queue.js";
