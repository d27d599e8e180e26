import type { BroadcastStatus } from "./types.js";

export interface ValidationIssue {
  /** Dotted path of the refused field, e.g. `recipients.3.chatId`; empty for the input as a whole. */
  readonly path: string;
  readonly message: string;
}

/** Every expected failure of the public API, as data. */
export type BroadcastError =
  | { readonly type: "not_found"; readonly broadcastId: number }
  | {
      readonly type: "invalid_transition";
      readonly broadcastId: number;
      readonly from: BroadcastStatus;
      readonly to: BroadcastStatus;
    }
  | { readonly type: "validation"; readonly issues: readonly ValidationIssue[] }
  /** Lost a race against another writer; safe to try again. */
  | { readonly type: "conflict"; readonly broadcastId: number }
  /** A write carried a stale fencing epoch: another worker owns these recipients now. */
  | { readonly type: "lease_lost"; readonly broadcastId: number }
  /** The store or queue failed; `cause` is for logs, never for end users. */
  | { readonly type: "storage"; readonly cause: unknown };

export type BroadcastErrorType = BroadcastError["type"];

export const notFound = (broadcastId: number): BroadcastError => ({ type: "not_found", broadcastId });
export const invalidTransition = (
  broadcastId: number,
  from: BroadcastStatus,
  to: BroadcastStatus,
): BroadcastError => ({ type: "invalid_transition", broadcastId, from, to });
export const validationError = (issues: readonly ValidationIssue[]): BroadcastError => ({
  type: "validation",
  issues,
});
export const conflict = (broadcastId: number): BroadcastError => ({ type: "conflict", broadcastId });
export const leaseLost = (broadcastId: number): BroadcastError => ({ type: "lease_lost", broadcastId });
export const storageError = (cause: unknown): BroadcastError => ({ type: "storage", cause });

/**
 * Thrown by a store given a list cursor it did not issue. It is the caller's mistake, not a
 * storage failure: the service reports it as a `validation` error on `cursor`.
 */
export class InvalidCursorError extends Error {
  override readonly name = "InvalidCursorError";
  constructor(readonly cursor: string) {
    super("invalid cursor");
  }
}
