import { afterEach, beforeEach } from "vitest";
import type { RecipientOutcome } from "../../core/outcome.js";
import type { Broadcast, NewRecipient, Recipient, RecipientId, RecipientState } from "../../core/types.js";
import type {
  BroadcastStore,
  ClaimRequest,
  ClaimResult,
  NewBroadcast,
  RecordOutcomesResult,
} from "../../ports/store.js";

export type MakeStore = () => BroadcastStore | Promise<BroadcastStore>;

export interface StoreConformanceOptions {
  /** Releases what `makeStore` opened (a connection, a file), after each test. */
  readonly close?: (store: BroadcastStore) => Promise<void>;
}

/** A fixed instant: every time in the suite is passed in, never read from a clock. */
export const T0 = new Date("2030-01-01T00:00:00.000Z");
export const LEASE_MS = 30_000;
export const at = (msAfterT0: number): Date => new Date(T0.getTime() + msAfterT0);

/** The store of the running test: a fresh, empty one for each. */
export interface StoreContext {
  readonly store: BroadcastStore;
}

export function useFreshStore(makeStore: MakeStore, options: StoreConformanceOptions): StoreContext {
  let current: BroadcastStore | null = null;
  beforeEach(async () => {
    current = await makeStore();
  });
  afterEach(async () => {
    if (current !== null && options.close !== undefined) await options.close(current);
    current = null;
  });
  return {
    get store(): BroadcastStore {
      if (current === null) throw new Error("describeStoreConformance: no store outside a test");
      return current;
    },
  };
}

export const draftInput = (overrides: Partial<NewBroadcast> = {}): NewBroadcast => ({
  message: { text: "Hello" },
  status: "draft",
  scheduledAt: null,
  createdBy: null,
  errorThreshold: null,
  createdAt: T0,
  ...overrides,
});

/** Recipients 1..n with chat ids 1001..1000+n. */
export const numbered = (n: number): NewRecipient[] =>
  Array.from({ length: n }, (_, i) => ({ recipientId: i + 1, chatId: 1001 + i }));

export const claimRequest = (broadcastId: number, overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
  broadcastId,
  owner: "worker-a",
  limit: 100,
  now: T0,
  leaseMs: LEASE_MS,
  onlyFailed: false,
  ...overrides,
});

export const delivered = (
  recipientId: RecipientId,
  messageId: number | string | null = 1,
): RecipientOutcome => ({
  type: "delivered",
  recipientId,
  attempts: 1,
  messageId,
});

export const failed = (
  recipientId: RecipientId,
  error = "Forbidden: bot was blocked by the user",
  kind: "transient" | "permanent" = "permanent",
): RecipientOutcome => ({ type: "failed", recipientId, attempts: 1, error, kind });

export const retryAt = (
  recipientId: RecipientId,
  next: Date,
  error = "Network timeout",
): RecipientOutcome => ({
  type: "retry",
  recipientId,
  attempts: 1,
  error,
  kind: "transient",
  nextAttemptAt: next,
});

export const ids = (items: readonly { recipientId: RecipientId }[]): RecipientId[] =>
  items.map((r) => r.recipientId);

/** Creates a broadcast in `sending` and returns it. */
export async function sendingBroadcast(
  store: BroadcastStore,
  recipients: readonly NewRecipient[],
  overrides: Partial<NewBroadcast> = {},
): Promise<Broadcast> {
  const created = await store.createBroadcast(draftInput(overrides), recipients);
  const started = await store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 });
  if (started.type !== "updated") throw new Error(`could not start broadcast ${created.id}`);
  return started.broadcast;
}

export async function record(
  store: BroadcastStore,
  broadcastId: number,
  claim: ClaimResult,
  outcomes: readonly RecipientOutcome[],
  options: { now?: Date; errorLogLimit?: number } = {},
): Promise<RecordOutcomesResult> {
  return store.recordOutcomes({
    broadcastId,
    epoch: claim.epoch,
    outcomes,
    now: options.now ?? T0,
    errorLogLimit: options.errorLogLimit ?? 1000,
  });
}

/** Claims everyone pending now and records `decide`'s outcome for each. */
export async function processAll(
  store: BroadcastStore,
  broadcastId: number,
  decide: (recipient: Recipient) => RecipientOutcome,
  now: Date = T0,
): Promise<void> {
  for (;;) {
    const claim = await store.claimRecipients(claimRequest(broadcastId, { now }));
    if (claim.recipients.length === 0) return;
    const result = await record(store, broadcastId, claim, claim.recipients.map(decide), { now });
    if (result.type !== "recorded") throw new Error(`recording failed: ${result.type}`);
  }
}

/** Every recipient of a broadcast, in insertion order, read page by page. */
export async function allRecipients(
  store: BroadcastStore,
  broadcastId: number,
  state?: RecipientState,
  pageSize = 500,
): Promise<Recipient[]> {
  const all: Recipient[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listRecipients(broadcastId, { status: state, limit: pageSize, cursor });
    if (page === null) throw new Error(`broadcast ${broadcastId} not found`);
    all.push(...page.items);
    if (page.nextCursor === null) return all;
    cursor = page.nextCursor;
  }
}

export async function mustGet(store: BroadcastStore, id: number): Promise<Broadcast> {
  const broadcast = await store.getBroadcast(id);
  if (broadcast === null) throw new Error(`broadcast ${id} not found`);
  return broadcast;
}

/** Error counts without zero entries: a store may keep or drop a key whose count fell to 0. */
export const nonZero = (counts: Readonly<Record<string, number>>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));

export const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};
