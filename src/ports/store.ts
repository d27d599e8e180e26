import type { RecipientOutcome } from "../core/outcome.js";
import type { BroadcastPatch } from "../core/transitions.js";
import type {
  Broadcast,
  BroadcastMessage,
  BroadcastStatus,
  NewRecipient,
  Page,
  Recipient,
  RecipientId,
  RecipientState,
} from "../core/types.js";
import type { WebhookOutbox } from "./webhook-outbox.js";

/**
 * # The store port: persistence of broadcasts and their recipients
 *
 * A store keeps the broadcasts, their recipients and their counters, and makes each method below
 * **one atomic step**: another caller sees the state before it or after it, never in between.
 * `describeStoreConformance` (from `broadcastkit/testing/conformance`) checks every promise made here; a host's
 * own store passes the same suite.
 *
 * ## Failures
 * Expected outcomes (not found, lost race, stale lease) are **returned** as data. Anything else
 * (connection lost, disk full, constraint violated) is **thrown / rejected**; the service turns it
 * into a `storage` error. A method that throws has changed nothing.
 *
 * ## Counters
 * `sentCount`, `failedCount`, `errorCounts` and `errorLog` live on the broadcast and are changed
 * only by the store, in the same atomic step as the recipient states they count, so that
 * `sent + failed + pending = total` holds at every moment and reading progress never counts rows.
 *
 * ## Text is data
 * Error descriptions, message texts, creators, recipient and message ids and variable names and
 * values come back exactly as given, whatever they say: `__proto__`, `constructor`, SQL, JSON,
 * quotes, backslashes, emoji, RTL marks; `1` and `"1"` stay apart. Anything keyed by such text
 * (per-error counts, variables) lives in a `Map` or an object without a prototype, including when
 * read back from JSON, so no key reads an inherited function nor vanishes into the prototype.
 * Strings arrive well-formed: failure descriptions through `normalizeDescription` (no NUL, no
 * lone surrogate, at most `MAX_DESCRIPTION_LENGTH` units), client text through the service's
 * validation. A store may refuse (throw) an ill-formed one up front, never fail halfway.
 *
 * ## Leases (claims)
 * A worker claims pending recipients before sending to them. Each claim gets an **epoch**: a
 * number larger than every epoch issued before for that broadcast (a fencing token). The claim
 * lasts until `leaseExpiresAt`; after that another claim may take the recipient over, with a newer
 * epoch. Writing outcomes with an epoch that is no longer the recipient's current one is refused
 * with `lease_lost` and changes nothing, so a worker that wakes up late cannot overwrite newer
 * outcomes. Two live claims never hold the same recipient.
 *
 * ## What it does not promise
 * - No ordering of recipients within a claim beyond "each claimable recipient is eventually
 *   claimed". Stores claim in insertion order where that is cheap.
 * - No transactions across methods: the service composes them so that each step is safe alone.
 * - No notification of changes; pollers compare `version`.
 */
export interface BroadcastStore extends WebhookOutbox {
  /**
   * Stores a new broadcast in `draft` (or `scheduled` when `scheduledAt` is given) with all its
   * recipients, and issues its id (a positive integer, increasing). Recipients may be an array or
   * an (async) iterable: stores insert them in chunks and never hold them all in memory. Either
   * everything is stored or nothing is. Inputs arrive validated (ids unique, chat ids valid).
   */
  createBroadcast(input: NewBroadcast, recipients: RecipientSource): Promise<Broadcast>;

  /**
   * Adds recipients to a broadcast that is still a `draft`, in one atomic step: all of them or
   * none. They take their places after the existing ones (insertion order goes on), pending and
   * never claimed. Recipients may be an array or an (async) iterable, read as for creation: in
   * chunks, never all held in memory at once by a SQL store. `totalRecipients` grows and `version`
   * is bumped in the same step. Answers, as data:
   * - `appended`, with the broadcast as stored after the step;
   * - `duplicate` when a recipient id is already in the broadcast or given twice in the call:
   *   nothing is added, and the answer names such ids (each once, in the order met, at most
   *   `MAX_NAMED_DUPLICATES`). Ids compare as stored: `1` and `"1"` are two ids;
   * - `status_changed` with the status when the broadcast is no longer a draft: nothing is added;
   * - `not_found`.
   * A source that throws rejects the call, having added nothing. Inputs arrive validated
   * otherwise (chat ids, variables), as for `createBroadcast`.
   */
  appendRecipients(broadcastId: number, recipients: RecipientSource): Promise<AppendRecipientsResult>;

  /** The broadcast, or `null` when there is none with that id. O(1) in the number of recipients. */
  getBroadcast(id: number): Promise<Broadcast | null>;

  /**
   * Newest first (by id, descending). `cursor` is opaque: pass back a page's `nextCursor`. A cursor
   * the store did not issue throws `InvalidCursorError` (from the core), never restarts the list.
   */
  listBroadcasts(query: ListBroadcastsQuery): Promise<Page<Broadcast>>;

  /**
   * Recipients in insertion order, optionally only those in one state; `null` when the broadcast
   * does not exist. Cursors as for `listBroadcasts`.
   */
  listRecipients(broadcastId: number, query: ListRecipientsQuery): Promise<Page<Recipient> | null>;

  /**
   * Compare-and-set on the status: applies `patch` (status, timestamps, counters) only when the
   * broadcast's status is still `expectedStatus`. This is how every status transition is stored:
   * of two racing callers exactly one sees `updated`; the other sees `status_changed` with the
   * status it lost to. Bumps `version`. A change of status also journals its webhook event in the
   * same step (see `WebhookOutbox`), timed `at` (the store's clock when absent).
   */
  updateBroadcast(
    id: number,
    expectedStatus: BroadcastStatus,
    patch: BroadcastPatch,
    at?: Date,
  ): Promise<UpdateResult>;

  /** `scheduled` broadcasts whose `scheduledAt <= now`, oldest first, at most `limit`. */
  findDueScheduled(now: Date, limit: number): Promise<Broadcast[]>;

  /**
   * Claims up to `limit` pending recipients of a broadcast for `leaseMs`, under a new epoch.
   * Claimable: pending, not under a live lease, and `nextAttemptAt` absent or `<= now`; with
   * `onlyFailed`, also carrying a previous error (a manual retry's pass). A recipient whose earlier
   * lease expired without an outcome comes back with `takenOver: true` (its delivery is unknown).
   * When nothing is claimable, `retryAt` tells when something will be (the earliest `nextAttemptAt`
   * or lease expiry), or is `null` when no recipient is pending at all.
   */
  claimRecipients(request: ClaimRequest): Promise<ClaimResult>;

  /**
   * Records the outcomes of one claimed batch in one atomic step: recipient states, attempts,
   * errors, message ids and migrated chat ids (a delivery clears the recipient's last error and its
   * kind: an earlier attempt's error no longer describes it; a release keeps them); `sentCount`, `failedCount`, `errorCounts` and the
   * error log (one entry per newly failed recipient, newest last, only the newest
   * `errorLogLimit` kept); the leases are released. Refused whole with `lease_lost` when any of the
   * recipients is no longer held under `epoch`.
   */
  recordOutcomes(request: RecordOutcomesRequest): Promise<RecordOutcomesResult>;

  /**
   * Extends a live claim while its worker still works on it: those of `recipientIds` still held
   * under `epoch` keep their lease until `now + leaseMs`. Answers the ones that are no longer held
   * (recorded meanwhile, or taken over by a newer claim after the lease expired), so the worker
   * stops sending to them. Renewing after expiry is allowed while nobody has taken them over.
   * Changes nothing else: no counter, no `version`.
   */
  renewLease(request: RenewLeaseRequest): Promise<RenewLeaseResult>;

  /**
   * Who is working on a broadcast, without claiming anything: whether any pending recipient is
   * under a live lease at `now`, and whether a claim at `now` would hand out at least one
   * recipient. The scheduler's recovery sweep re-queues a `sending` broadcast that nobody holds
   * but that has claimable work; the service waits for live leases to end before it answers a
   * cancel or pause. `null` when the broadcast does not exist. Reads only; should cost no more than
   * a claim that finds nothing.
   */
  getActivity(broadcastId: number, now: Date): Promise<BroadcastActivity | null>;

  /**
   * A manual retry in one atomic step: counts the failed recipients (permanent ones only with
   * `includePermanent`). When there are none, changes nothing and returns `retriedCount: 0`. When
   * there are some, and the status is one of `allowedFrom`, turns them back to pending with
   * `attempts: 0` (keeping their last error), lowers `failedCount` and `errorCounts` by as many,
   * and applies `patch` (status `sending`), journaling its webhook event as `updateBroadcast` does.
   * Otherwise returns `status_changed` and changes nothing.
   */
  resetFailedRecipients(request: ResetFailedRequest): Promise<ResetFailedResult>;
}

export interface NewBroadcast {
  readonly message: BroadcastMessage;
  readonly status: "draft" | "scheduled";
  readonly scheduledAt: Date | null;
  readonly createdBy: string | number | null;
  readonly errorThreshold: number | null;
  readonly createdAt: Date;
}

export type RecipientSource = Iterable<NewRecipient> | AsyncIterable<NewRecipient>;

export type AppendRecipientsResult =
  | { readonly type: "appended"; readonly broadcast: Broadcast }
  | { readonly type: "duplicate"; readonly recipientIds: readonly RecipientId[] }
  | { readonly type: "status_changed"; readonly actual: BroadcastStatus }
  | { readonly type: "not_found" };

export interface ListBroadcastsQuery {
  readonly status?: BroadcastStatus | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface ListRecipientsQuery {
  readonly status?: RecipientState | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export type UpdateResult =
  | { readonly type: "updated"; readonly broadcast: Broadcast }
  | { readonly type: "status_changed"; readonly actual: BroadcastStatus }
  | { readonly type: "not_found" };

export interface ClaimRequest {
  readonly broadcastId: number;
  /** Who holds the lease, for diagnostics (a worker id). */
  readonly owner: string;
  readonly limit: number;
  readonly now: Date;
  readonly leaseMs: number;
  readonly onlyFailed: boolean;
}

export interface ClaimedRecipient extends Recipient {
  /** An earlier claim on this recipient expired without an outcome: it may have been sent. */
  readonly takenOver: boolean;
}

export interface ClaimResult {
  readonly epoch: number;
  readonly recipients: readonly ClaimedRecipient[];
  /** Only when `recipients` is empty: when to look again, or `null` when nobody is pending. */
  readonly retryAt: Date | null;
  /**
   * The broadcast's status as the claim found it (`null`: there is no such broadcast). A store
   * that answers it spares the worker a read after each claim; without it the worker reads the
   * broadcast to learn whether a cancel or pause was stored before the claim.
   */
  readonly status?: BroadcastStatus | null;
}

export interface RecordOutcomesRequest {
  readonly broadcastId: number;
  readonly epoch: number;
  readonly outcomes: readonly RecipientOutcome[];
  readonly now: Date;
  /** How many error-log entries the broadcast keeps (default 1,000 in the service). */
  readonly errorLogLimit: number;
}

export type RecordOutcomesResult =
  | { readonly type: "recorded"; readonly broadcast: Broadcast }
  | { readonly type: "lease_lost"; readonly recipientIds: readonly RecipientId[] }
  | { readonly type: "not_found" };

export interface RenewLeaseRequest {
  readonly broadcastId: number;
  readonly epoch: number;
  /** The recipients of that claim the worker has not recorded yet. */
  readonly recipientIds: readonly RecipientId[];
  readonly now: Date;
  readonly leaseMs: number;
}

export interface RenewLeaseResult {
  /** Those of `recipientIds` no longer held under the epoch: their lease was not extended. */
  readonly lost: readonly RecipientId[];
}

export interface BroadcastActivity {
  /** Some pending recipient is under a lease that has not expired at `now`. */
  readonly leased: boolean;
  /** A claim at `now` (not only-failed) would hand out at least one recipient. */
  readonly claimable: boolean;
}

export interface ResetFailedRequest {
  readonly broadcastId: number;
  readonly includePermanent: boolean;
  readonly allowedFrom: readonly BroadcastStatus[];
  readonly patch: BroadcastPatch;
  /** When the change happens, for its webhook event; the store's clock when absent. */
  readonly at?: Date | undefined;
}

export type ResetFailedResult =
  | {
      readonly type: "reset";
      readonly broadcast: Broadcast;
      readonly retriedCount: number;
      /** Failed recipients left failed (permanent ones without `includePermanent`). */
      readonly skippedCount: number;
    }
  | { readonly type: "status_changed"; readonly actual: BroadcastStatus }
  | { readonly type: "not_found" };
