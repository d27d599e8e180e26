import type {
  ChatId,
  FailureKind,
  NewRecipient,
  Recipient,
  RecipientId,
  RecipientState,
  TemplateVariables,
} from "../../core/types.js";
import type { ClaimedRecipient } from "../../ports/store.js";
import { IndexHeap } from "./index-heap.js";

export const PENDING = 0;
export const SENT = 1;
export const FAILED = 2;

const STATE_NAMES: readonly RecipientState[] = ["pending", "sent", "failed"];
const STATE_CODES: Readonly<Record<RecipientState, number>> = {
  pending: PENDING,
  sent: SENT,
  failed: FAILED,
};

const KIND_NAMES: readonly (FailureKind | null)[] = [null, "transient", "permanent", "content"];
const KIND_CODES: Readonly<Record<FailureKind, number>> = { transient: 1, permanent: 2, content: 3 };
export const PERMANENT = KIND_CODES.permanent;

const NO_ERROR = -1;
const NO_LEASE = 0;
const MAX_ATTEMPTS = 0xffff;

export const stateCode = (state: RecipientState): number => STATE_CODES[state];
export const kindCode = (kind: FailureKind): number => KIND_CODES[kind];

/** Recipients as the input gave them, gathered before anything is stored. */
export interface RecipientColumns {
  readonly recipientIds: RecipientId[];
  readonly chatIds: ChatId[];
  readonly variables: Map<number, TemplateVariables>;
}

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** A copy of `column` `size` long, its new cells set to `fill`. */
function grown<C extends Column>(column: C, size: number, fill: number): C {
  const next = new (column.constructor as new (length: number) => C)(size);
  next.set(column as ArrayLike<number>);
  next.fill(fill, column.length);
  return next;
}

export function emptyColumns(): RecipientColumns {
  return { recipientIds: [], chatIds: [], variables: new Map() };
}

/**
 * A copy of a recipient's variables without a prototype: their names are the host's data, so a
 * name such as `constructor` reads back as the value given, never as an inherited function.
 */
const copyVariables = (variables: TemplateVariables): TemplateVariables =>
  Object.assign(Object.create(null) as Record<string, string | number | boolean>, variables);

export function appendRecipient(columns: RecipientColumns, recipient: NewRecipient): void {
  const index = columns.recipientIds.length;
  columns.recipientIds.push(recipient.recipientId);
  columns.chatIds.push(recipient.chatId);
  if (recipient.variables !== undefined) columns.variables.set(index, copyVariables(recipient.variables));
}

/**
 * The recipients of one broadcast, stored column-wise: one typed array per field and a plain array
 * only where values are ids. A million recipients cost tens of megabytes and no object each; an
 * object is built only when a caller reads a recipient, and it is always a fresh copy.
 *
 * Pending recipients live in exactly one of three places, so a claim never scans the table:
 * - **fresh**: never claimed, at indices `freshCursor..size-1`;
 * - **waiting**: released, scheduled for a retry or reset by a manual retry, in a heap ordered by
 *   `nextAttemptAt` (split by whether they carry an error, for `onlyFailed` claims);
 * - **leased**: held by a claim (`leaseEpoch` ≠ 0).
 */
export class RecipientTable {
  /** Grows only while the broadcast is a draft (`append`); the columns below are replaced then. */
  size: number;
  /** Appended to only by `append`: the store reads it, never writes it. */
  readonly recipientIds: RecipientId[];
  readonly chatIds: ChatId[];
  private readonly variables: Map<number, TemplateVariables>;
  state: Uint8Array;
  attempts: Uint16Array;
  /** The epoch of the claim holding the recipient; 0 when none does. */
  leaseEpoch: Uint32Array;
  /** Milliseconds since the epoch; NaN when the recipient is not waiting for a later attempt. */
  nextAttemptAt: Float64Array;
  /** Index into `errorTexts`; -1 when the recipient has never failed. */
  lastError: Int32Array;
  lastErrorKind: Uint8Array;
  readonly messageIds: (number | string | null)[];
  /** Every recipient id, built by the first `append` (a broadcast never appended to needs none). */
  private idSet: Set<RecipientId> | null = null;
  private readonly errorTexts: string[] = [];
  private readonly errorTextIndex = new Map<string, number>();

  /** Never-claimed recipients start here. */
  freshCursor = 0;
  readonly waitingWithError: IndexHeap;
  readonly waitingWithoutError: IndexHeap;

  constructor(columns: RecipientColumns) {
    const size = columns.recipientIds.length;
    this.size = size;
    this.recipientIds = columns.recipientIds;
    this.chatIds = columns.chatIds;
    this.variables = columns.variables;
    this.state = new Uint8Array(size);
    this.attempts = new Uint16Array(size);
    this.leaseEpoch = new Uint32Array(size);
    this.nextAttemptAt = new Float64Array(size).fill(Number.NaN);
    this.lastError = new Int32Array(size).fill(NO_ERROR);
    this.lastErrorKind = new Uint8Array(size);
    this.messageIds = new Array<number | string | null>(size).fill(null);
    const dueKey = (index: number): number => {
      const at = this.nextAttemptAt[index]!;
      return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
    };
    this.waitingWithError = new IndexHeap(dueKey);
    this.waitingWithoutError = new IndexHeap(dueKey);
  }

  /**
   * The ids of `incoming` already in the table or repeated among them, each once, in the order
   * met, at most `limit`; empty when they may all be appended.
   */
  duplicatesOf(incoming: readonly RecipientId[], limit: number): RecipientId[] {
    this.idSet ??= new Set(this.recipientIds);
    const known = this.idSet;
    const seen = new Set<RecipientId>();
    const named = new Set<RecipientId>();
    for (const id of incoming) {
      if (named.size >= limit) break;
      if (known.has(id) || seen.has(id)) named.add(id);
      seen.add(id);
    }
    return [...named];
  }

  /** Adds recipients after the existing ones: fresh, pending, never tried. */
  append(columns: RecipientColumns): void {
    const from = this.size;
    const size = from + columns.recipientIds.length;
    this.state = grown(this.state, size, PENDING);
    this.attempts = grown(this.attempts, size, 0);
    this.leaseEpoch = grown(this.leaseEpoch, size, NO_LEASE);
    this.nextAttemptAt = grown(this.nextAttemptAt, size, Number.NaN);
    this.lastError = grown(this.lastError, size, NO_ERROR);
    this.lastErrorKind = grown(this.lastErrorKind, size, 0);
    for (let i = 0; i < columns.recipientIds.length; i += 1) {
      const id = columns.recipientIds[i]!;
      this.recipientIds.push(id);
      this.idSet?.add(id);
      this.chatIds.push(columns.chatIds[i]!);
      this.messageIds.push(null);
    }
    for (const [index, variables] of columns.variables) this.variables.set(from + index, variables);
    this.size = size;
  }

  /** When a waiting recipient may be claimed: -Infinity when it may be claimed at once. */
  dueAt(index: number): number {
    const at = this.nextAttemptAt[index]!;
    return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
  }

  hasError(index: number): boolean {
    return this.lastError[index]! !== NO_ERROR;
  }

  isLeasedBy(index: number, epoch: number): boolean {
    return epoch !== NO_LEASE && this.leaseEpoch[index] === epoch;
  }

  lease(index: number, epoch: number): void {
    this.leaseEpoch[index] = epoch;
  }

  /** Ends the recipient's lease; a recipient still pending goes back to waiting. */
  unlease(index: number): void {
    this.leaseEpoch[index] = NO_LEASE;
    if (this.state[index] === PENDING) this.wait(index);
  }

  wait(index: number): void {
    if (this.hasError(index)) this.waitingWithError.push(index);
    else this.waitingWithoutError.push(index);
  }

  setAttempts(index: number, attempts: number): void {
    this.attempts[index] = Math.max(0, Math.min(MAX_ATTEMPTS, attempts));
  }

  setError(index: number, error: string, kind: FailureKind): void {
    this.lastError[index] = this.intern(error);
    this.lastErrorKind[index] = KIND_CODES[kind];
  }

  /** A delivery ends the recipient's story: an error from an earlier attempt no longer describes it. */
  clearError(index: number): void {
    this.lastError[index] = NO_ERROR;
    this.lastErrorKind[index] = 0;
  }

  errorText(index: number): string | null {
    const code = this.lastError[index]!;
    return code === NO_ERROR ? null : this.errorTexts[code]!;
  }

  isPermanentFailure(index: number): boolean {
    return this.lastErrorKind[index] === PERMANENT;
  }

  read(broadcastId: number, index: number): Recipient {
    const variables = this.variables.get(index);
    const nextAttemptAt = this.nextAttemptAt[index]!;
    return {
      broadcastId,
      recipientId: this.recipientIds[index]!,
      chatId: this.chatIds[index]!,
      variables: variables === undefined ? null : copyVariables(variables),
      state: STATE_NAMES[this.state[index]!]!,
      attempts: this.attempts[index]!,
      lastError: this.errorText(index),
      lastErrorKind: KIND_NAMES[this.lastErrorKind[index]!] ?? null,
      nextAttemptAt: Number.isNaN(nextAttemptAt) ? null : new Date(nextAttemptAt),
      messageId: this.messageIds[index] ?? null,
    };
  }

  /** Written out rather than spread from `read`: claims build a million of these per second. */
  readClaimed(broadcastId: number, index: number, takenOver: boolean): ClaimedRecipient {
    const variables = this.variables.get(index);
    const nextAttemptAt = this.nextAttemptAt[index]!;
    return {
      broadcastId,
      recipientId: this.recipientIds[index]!,
      chatId: this.chatIds[index]!,
      variables: variables === undefined ? null : copyVariables(variables),
      state: STATE_NAMES[this.state[index]!]!,
      attempts: this.attempts[index]!,
      lastError: this.errorText(index),
      lastErrorKind: KIND_NAMES[this.lastErrorKind[index]!] ?? null,
      nextAttemptAt: Number.isNaN(nextAttemptAt) ? null : new Date(nextAttemptAt),
      messageId: this.messageIds[index] ?? null,
      takenOver,
    };
  }

  private intern(text: string): number {
    let code = this.errorTextIndex.get(text);
    if (code === undefined) {
      code = this.errorTexts.length;
      this.errorTexts.push(text);
      this.errorTextIndex.set(text, code);
    }
    return code;
  }
}
