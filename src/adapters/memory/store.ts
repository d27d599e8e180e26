import type { RecipientOutcome } from "../../core/outcome.js";
import {
  type Broadcast,
  MAX_NAMED_DUPLICATES,
  type NewRecipient,
  type Page,
  type Recipient,
  type RecipientId,
} from "../../core/types.js";
import type {
  AppendRecipientsResult,
  BroadcastActivity,
  BroadcastStore,
  ClaimedRecipient,
  ClaimRequest,
  ClaimResult,
  ListBroadcastsQuery,
  ListRecipientsQuery,
  NewBroadcast,
  RecipientSource,
  RecordOutcomesRequest,
  RecordOutcomesResult,
  RenewLeaseRequest,
  RenewLeaseResult,
  ResetFailedRequest,
  ResetFailedResult,
  UpdateResult,
} from "../../ports/store.js";
import {
  applyPatch,
  type BroadcastRecord,
  countError,
  type Lease,
  newRecord,
  readRecord,
} from "./broadcast-record.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import {
  appendRecipient,
  emptyColumns,
  FAILED,
  PENDING,
  type RecipientColumns,
  RecipientTable,
  SENT,
  stateCode,
} from "./recipient-table.js";
import { MemoryWebhookOutbox } from "./webhook-outbox.js";

export type StoreOperation = keyof BroadcastStore;

export interface MemoryStoreOptions {
  /**
   * Runs before every operation, before it touches anything. Tests use it to inject failures (throw
   * or reject: the operation rejects with that error and changes nothing) or delays (await).
   */
  readonly beforeOperation?: (operation: StoreOperation) => void | Promise<void>;
}

/**
 * An in-process `BroadcastStore`: every method changes state in one synchronous step (after any
 * await, such as reading an async recipient source), so concurrent callers never interleave. Recipients are stored column-wise (see
 * `RecipientTable`), so a million-recipient broadcast fits in tens of megabytes and a claim never
 * scans the recipients. Everything returned is a fresh copy.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): BroadcastStore {
  const broadcasts = new Map<number, BroadcastRecord>();
  /** Ids in creation order (ascending), for newest-first listing. */
  const order: number[] = [];
  let lastId = 0;
  const before = options.beforeOperation;
  const outbox = new MemoryWebhookOutbox();

  return {
    async createBroadcast(input: NewBroadcast, source: RecipientSource): Promise<Broadcast> {
      if (before) await before("createBroadcast");
      // Nothing is stored until every recipient is read: a source that throws leaves no trace.
      const columns = await gather(source);
      lastId += 1;
      const record = newRecord(lastId, input, new RecipientTable(columns));
      broadcasts.set(record.id, record);
      order.push(record.id);
      return readRecord(record);
    },

    async appendRecipients(broadcastId: number, source: RecipientSource): Promise<AppendRecipientsResult> {
      if (before) await before("appendRecipients");
      const found = broadcasts.get(broadcastId);
      if (found === undefined) return { type: "not_found" };
      if (found.status !== "draft") return { type: "status_changed", actual: found.status };
      // As for creation, nothing changes until every recipient is read; then the checks again.
      const columns = await gather(source);
      const record = broadcasts.get(broadcastId);
      if (record === undefined) return { type: "not_found" };
      if (record.status !== "draft") return { type: "status_changed", actual: record.status };
      const duplicates = record.recipients.duplicatesOf(columns.recipientIds, MAX_NAMED_DUPLICATES);
      if (duplicates.length > 0) return { type: "duplicate", recipientIds: duplicates };
      record.recipients.append(columns);
      record.version += 1;
      return { type: "appended", broadcast: readRecord(record) };
    },

    async getBroadcast(id: number): Promise<Broadcast | null> {
      if (before) await before("getBroadcast");
      const record = broadcasts.get(id);
      return record === undefined ? null : readRecord(record);
    },

    async listBroadcasts(query: ListBroadcastsQuery): Promise<Page<Broadcast>> {
      if (before) await before("listBroadcasts");
      const beforeId =
        query.cursor === undefined ? Number.POSITIVE_INFINITY : decodeCursor(query.cursor, "b");
      const items: Broadcast[] = [];
      let position = firstAtOrAbove(order, beforeId) - 1;
      for (; position >= 0 && items.length < query.limit; position -= 1) {
        const record = broadcasts.get(order[position]!)!;
        if (query.status === undefined || record.status === query.status) items.push(readRecord(record));
      }
      let more = false;
      for (; position >= 0 && !more; position -= 1) {
        more = query.status === undefined || broadcasts.get(order[position]!)!.status === query.status;
      }
      const last = items[items.length - 1];
      return { items, nextCursor: more && last !== undefined ? encodeCursor("b", last.id) : null };
    },

    async listRecipients(broadcastId: number, query: ListRecipientsQuery): Promise<Page<Recipient> | null> {
      if (before) await before("listRecipients");
      const record = broadcasts.get(broadcastId);
      if (record === undefined) return null;
      const table = record.recipients;
      const wanted = query.status === undefined ? -1 : stateCode(query.status);
      const matches = (index: number) => wanted === -1 || table.state[index] === wanted;
      let index = query.cursor === undefined ? 0 : decodeCursor(query.cursor, "r") + 1;
      const items: Recipient[] = [];
      let lastIndex = -1;
      for (; index < table.size && items.length < query.limit; index += 1) {
        if (!matches(index)) continue;
        items.push(table.read(broadcastId, index));
        lastIndex = index;
      }
      while (index < table.size && !matches(index)) index += 1;
      const more = index < table.size && items.length > 0;
      return { items, nextCursor: more ? encodeCursor("r", lastIndex) : null };
    },

    async updateBroadcast(id, expectedStatus, patch, at): Promise<UpdateResult> {
      if (before) await before("updateBroadcast");
      const record = broadcasts.get(id);
      if (record === undefined) return { type: "not_found" };
      if (record.status !== expectedStatus) return { type: "status_changed", actual: record.status };
      applyPatch(record, patch);
      record.version += 1;
      const broadcast = readRecord(record);
      outbox.journal(expectedStatus, broadcast, at);
      return { type: "updated", broadcast };
    },

    async findDueScheduled(now: Date, limit: number): Promise<Broadcast[]> {
      if (before) await before("findDueScheduled");
      const at = now.getTime();
      const due: BroadcastRecord[] = [];
      for (const record of broadcasts.values()) {
        if (record.status === "scheduled" && record.scheduledAt !== null && record.scheduledAt <= at) {
          due.push(record);
        }
      }
      due.sort((a, b) => a.scheduledAt! - b.scheduledAt! || a.id - b.id);
      return due.slice(0, Math.max(0, limit)).map(readRecord);
    },

    async claimRecipients(request: ClaimRequest): Promise<ClaimResult> {
      if (before) await before("claimRecipients");
      const record = broadcasts.get(request.broadcastId);
      if (record === undefined) return { epoch: 0, recipients: [], retryAt: null };
      return claim(record, request);
    },

    async recordOutcomes(request: RecordOutcomesRequest): Promise<RecordOutcomesResult> {
      if (before) await before("recordOutcomes");
      const record = broadcasts.get(request.broadcastId);
      if (record === undefined) return { type: "not_found" };
      return recordBatch(record, request);
    },

    async renewLease(request: RenewLeaseRequest): Promise<RenewLeaseResult> {
      if (before) await before("renewLease");
      const record = broadcasts.get(request.broadcastId);
      if (record === undefined) return { lost: [...request.recipientIds] };
      return renew(record, request);
    },

    async getActivity(broadcastId: number, now: Date): Promise<BroadcastActivity | null> {
      if (before) await before("getActivity");
      const record = broadcasts.get(broadcastId);
      return record === undefined ? null : activityOf(record, now.getTime());
    },

    async resetFailedRecipients(request: ResetFailedRequest): Promise<ResetFailedResult> {
      if (before) await before("resetFailedRecipients");
      const record = broadcasts.get(request.broadcastId);
      if (record === undefined) return { type: "not_found" };
      const previous = record.status;
      const result = resetFailed(record, request);
      if (result.type === "reset") outbox.journal(previous, result.broadcast, request.at);
      return result;
    },

    async claimWebhookDeliveries(request) {
      if (before) await before("claimWebhookDeliveries");
      return outbox.claim(request);
    },

    async recordWebhookDelivery(request) {
      if (before) await before("recordWebhookDelivery");
      return outbox.record(request);
    },

    async listWebhookDeliveries(query) {
      if (before) await before("listWebhookDeliveries");
      return outbox.list(query);
    },
  };
}

async function gather(source: RecipientSource): Promise<RecipientColumns> {
  const columns = emptyColumns();
  if (Array.isArray(source)) {
    const list = source as readonly NewRecipient[];
    for (let i = 0; i < list.length; i += 1) appendRecipient(columns, list[i]!);
  } else if (Symbol.iterator in source) {
    for (const recipient of source) appendRecipient(columns, recipient);
  } else {
    for await (const recipient of source) appendRecipient(columns, recipient);
  }
  return columns;
}

/** The first position whose id is not below `id` (ids ascend). */
function firstAtOrAbove(ids: readonly number[], id: number): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (ids[mid]! < id) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Takes over expired leases first (their delivery is unknown, so they are the oldest work), then
 * waiting recipients that are due, then fresh ones in insertion order.
 */
function claim(record: BroadcastRecord, request: ClaimRequest): ClaimResult {
  const table = record.recipients;
  const now = request.now.getTime();
  record.lastEpoch += 1;
  const epoch = record.lastEpoch;
  const lease: Lease = {
    epoch,
    owner: request.owner,
    expiresAt: now + request.leaseMs,
    indices: [],
    byRecipientId: new Map(),
    held: 0,
  };
  const picked: ClaimedRecipient[] = [];
  const limit = Math.max(0, request.limit);
  const take = (index: number, takenOver: boolean) => {
    table.lease(index, epoch);
    lease.indices.push(index);
    lease.byRecipientId.set(table.recipientIds[index]!, index);
    picked.push(table.readClaimed(record.id, index, takenOver));
  };

  for (const old of record.leases.values()) {
    if (picked.length >= limit) break;
    if (old.expiresAt > now) continue;
    for (const index of old.indices) {
      if (picked.length >= limit) break;
      if (!table.isLeasedBy(index, old.epoch)) continue;
      if (request.onlyFailed && !table.hasError(index)) continue;
      take(index, true);
      old.held -= 1;
    }
    if (old.held === 0) record.leases.delete(old.epoch);
  }

  const withError = table.waitingWithError;
  const withoutError = table.waitingWithoutError;
  while (picked.length < limit) {
    const a = withError.peek();
    const b = request.onlyFailed ? undefined : withoutError.peek();
    const aDue = a !== undefined && table.dueAt(a) <= now;
    const bDue = b !== undefined && table.dueAt(b) <= now;
    if (aDue && (!bDue || table.dueAt(a) <= table.dueAt(b!))) take(withError.pop()!, false);
    else if (bDue) take(withoutError.pop()!, false);
    else break;
  }

  if (!request.onlyFailed) {
    while (picked.length < limit && table.freshCursor < table.size) {
      take(table.freshCursor, false);
      table.freshCursor += 1;
    }
  }

  if (picked.length > 0) {
    lease.held = picked.length;
    record.leases.set(epoch, lease);
    return { epoch, recipients: picked, retryAt: null };
  }
  return { epoch, recipients: picked, retryAt: nextClaimableAt(record, request.onlyFailed, now) };
}

/**
 * When something will be claimable again: the earliest retry or live lease expiry. Called only when
 * the claim found nothing, so whatever is due already is not claimable by this request (an
 * `onlyFailed` pass skips recipients without an error) and only future times count.
 */
function nextClaimableAt(record: BroadcastRecord, onlyFailed: boolean, now: number): Date | null {
  const table = record.recipients;
  let earliest = Number.POSITIVE_INFINITY;
  const consider = (at: number) => {
    if (at > now && at < earliest) earliest = at;
  };
  for (const lease of record.leases.values()) if (lease.held > 0) consider(lease.expiresAt);
  const a = table.waitingWithError.peek();
  if (a !== undefined) consider(table.dueAt(a));
  const b = onlyFailed ? undefined : table.waitingWithoutError.peek();
  if (b !== undefined) consider(table.dueAt(b));
  return earliest === Number.POSITIVE_INFINITY ? null : new Date(earliest);
}

function renew(record: BroadcastRecord, request: RenewLeaseRequest): RenewLeaseResult {
  const lease = record.leases.get(request.epoch);
  const lost: RecipientId[] = [];
  for (const recipientId of request.recipientIds) {
    const index = lease?.byRecipientId.get(recipientId);
    if (index === undefined || !record.recipients.isLeasedBy(index, request.epoch)) lost.push(recipientId);
  }
  if (lease !== undefined && lease.held > 0) {
    lease.expiresAt = Math.max(lease.expiresAt, request.now.getTime() + request.leaseMs);
  }
  return { lost };
}

function activityOf(record: BroadcastRecord, now: number): BroadcastActivity {
  const table = record.recipients;
  let leased = false;
  let takeOver = false;
  for (const lease of record.leases.values()) {
    if (lease.held <= 0) continue;
    if (lease.expiresAt > now) leased = true;
    else takeOver = true;
  }
  const due = (index: number | undefined) => index !== undefined && table.dueAt(index) <= now;
  const claimable =
    takeOver ||
    table.freshCursor < table.size ||
    due(table.waitingWithError.peek()) ||
    due(table.waitingWithoutError.peek());
  return { leased, claimable };
}

function recordBatch(record: BroadcastRecord, request: RecordOutcomesRequest): RecordOutcomesResult {
  const table = record.recipients;
  const { epoch, outcomes } = request;
  const lease = record.leases.get(epoch);
  const indices: number[] = [];
  const lost: RecipientId[] = [];
  for (const outcome of outcomes) {
    const index = lease?.byRecipientId.get(outcome.recipientId);
    if (index === undefined || !table.isLeasedBy(index, epoch)) lost.push(outcome.recipientId);
    else indices.push(index);
  }
  if (lost.length > 0) return { type: "lease_lost", recipientIds: lost };
  if (new Set(indices).size !== indices.length) {
    throw new TypeError("recordOutcomes: a recipient appears twice in one batch");
  }

  const now = request.now.getTime();
  record.errorLog.setLimit(request.errorLogLimit);
  for (let i = 0; i < outcomes.length; i += 1) apply(record, indices[i]!, outcomes[i]!, now);
  if (lease !== undefined) {
    lease.held -= outcomes.length;
    if (lease.held <= 0) record.leases.delete(epoch);
  }
  record.version += 1;
  return { type: "recorded", broadcast: readRecord(record) };
}

function apply(record: BroadcastRecord, index: number, outcome: RecipientOutcome, now: number): void {
  const table = record.recipients;
  if (outcome.type !== "released") {
    table.setAttempts(index, outcome.attempts);
    if (outcome.chatId !== undefined) table.chatIds[index] = outcome.chatId;
  }
  switch (outcome.type) {
    case "delivered":
      table.state[index] = SENT;
      table.messageIds[index] = outcome.messageId;
      table.clearError(index);
      table.nextAttemptAt[index] = Number.NaN;
      record.sentCount += 1;
      break;
    case "failed":
      table.state[index] = FAILED;
      table.setError(index, outcome.error, outcome.kind);
      table.nextAttemptAt[index] = Number.NaN;
      record.failedCount += 1;
      record.failedRecipients += 1;
      if (table.isPermanentFailure(index)) record.failedPermanent += 1;
      countError(record, outcome.error, 1);
      record.errorLog.append(table.recipientIds[index]!, outcome.error, now);
      break;
    case "retry":
      table.setError(index, outcome.error, outcome.kind);
      table.nextAttemptAt[index] = outcome.nextAttemptAt.getTime();
      break;
    case "released":
      break;
  }
  table.unlease(index);
}

function resetFailed(record: BroadcastRecord, request: ResetFailedRequest): ResetFailedResult {
  const retriable = request.includePermanent
    ? record.failedRecipients
    : record.failedRecipients - record.failedPermanent;
  const skippedCount = record.failedRecipients - retriable;
  if (retriable === 0) return { type: "reset", broadcast: readRecord(record), retriedCount: 0, skippedCount };
  if (!request.allowedFrom.includes(record.status)) return { type: "status_changed", actual: record.status };

  const table = record.recipients;
  let retriedCount = 0;
  for (let index = 0; index < table.size; index += 1) {
    if (table.state[index] !== FAILED) continue;
    const permanent = table.isPermanentFailure(index);
    if (permanent && !request.includePermanent) continue;
    table.state[index] = PENDING;
    table.setAttempts(index, 0);
    table.nextAttemptAt[index] = Number.NaN;
    table.wait(index);
    countError(record, table.errorText(index) ?? "", -1);
    if (permanent) record.failedPermanent -= 1;
    retriedCount += 1;
  }
  record.failedRecipients -= retriedCount;
  record.failedCount = Math.max(0, record.failedCount - retriedCount);
  applyPatch(record, request.patch);
  record.version += 1;
  return { type: "reset", broadcast: readRecord(record), retriedCount, skippedCount };
}
