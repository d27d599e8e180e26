import { okAsync, type ResultAsync } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import type { Page } from "../core/types.js";
import type { WebhookDelivery, WebhookDeliveryState } from "../core/webhooks.js";
import { loadBroadcast } from "./broadcast-reads.js";
import { adapterCall } from "./guarded-ports.js";
import type { ServiceDeps } from "./service-deps.js";

export interface WebhookDeliveriesQuery {
  readonly broadcastId?: number | undefined;
  readonly endpointId?: string | undefined;
  readonly state?: WebhookDeliveryState | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** The delivery log, newest first; a broadcast that does not exist is `not_found`, not an empty page. */
export function listWebhookDeliveries(
  deps: ServiceDeps,
  query: WebhookDeliveriesQuery,
): ResultAsync<Page<WebhookDelivery>, BroadcastError> {
  const exists =
    query.broadcastId === undefined
      ? okAsync(undefined)
      : loadBroadcast(deps, query.broadcastId).map(() => undefined);
  return exists.andThen(() =>
    adapterCall(deps.logger, "listWebhookDeliveries", () => deps.store.listWebhookDeliveries(query)),
  );
}
