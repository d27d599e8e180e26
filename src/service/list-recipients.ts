import { err, ok, okAsync, type ResultAsync } from "neverthrow";
import { type BroadcastError, notFound } from "../core/errors.js";
import type { Page, Recipient, RecipientState, RecipientStatus } from "../core/types.js";
import { loadBroadcast } from "./broadcast-reads.js";
import { adapterCall } from "./guarded-ports.js";
import type { ServiceDeps } from "./service-deps.js";

export interface RecipientsQuery {
  readonly status?: RecipientStatus | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

const nobody: Page<Recipient> = { items: [], nextCursor: null };

const asCancelled = (recipient: Recipient): Recipient =>
  recipient.state === "pending" ? { ...recipient, state: "cancelled" } : recipient;

/**
 * Recipients in insertion order. Those still pending when their broadcast was cancelled read as
 * `cancelled`: the store keeps them pending (a cancel writes nothing per recipient), so the status
 * filter is translated here.
 */
export function listRecipients(
  deps: ServiceDeps,
  id: number,
  query: RecipientsQuery,
): ResultAsync<Page<Recipient>, BroadcastError> {
  return loadBroadcast(deps, id).andThen((broadcast) => {
    const cancelled = broadcast.status === "cancelled";
    const { status, limit, cursor } = query;
    if ((status === "cancelled" && !cancelled) || (status === "pending" && cancelled)) return okAsync(nobody);
    const stored: RecipientState | undefined = status === "cancelled" ? "pending" : status;
    return adapterCall(deps.logger, "listRecipients", () =>
      deps.store.listRecipients(id, { status: stored, limit, cursor }),
    ).andThen((page) => {
      if (page === null) return err(notFound(id));
      return ok(cancelled ? { items: page.items.map(asCancelled), nextCursor: page.nextCursor } : page);
    });
  });
}
