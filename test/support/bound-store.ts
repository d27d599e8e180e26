import type { BroadcastStore } from "broadcastkit";

/** Every method of `store`, bound, so a test can replace a few and keep the rest. */
export function boundStore(store: BroadcastStore): BroadcastStore {
  return {
    createBroadcast: store.createBroadcast.bind(store),
    appendRecipients: store.appendRecipients.bind(store),
    getBroadcast: store.getBroadcast.bind(store),
    listBroadcasts: store.listBroadcasts.bind(store),
    listRecipients: store.listRecipients.bind(store),
    updateBroadcast: store.updateBroadcast.bind(store),
    findDueScheduled: store.findDueScheduled.bind(store),
    claimRecipients: store.claimRecipients.bind(store),
    recordOutcomes: store.recordOutcomes.bind(store),
    renewLease: store.renewLease.bind(store),
    getActivity: store.getActivity.bind(store),
    resetFailedRecipients: store.resetFailedRecipients.bind(store),
    claimWebhookDeliveries: store.claimWebhookDeliveries.bind(store),
    recordWebhookDelivery: store.recordWebhookDelivery.bind(store),
    listWebhookDeliveries: store.listWebhookDeliveries.bind(store),
  };
}
