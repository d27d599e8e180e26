export type { Clock } from "./clock.js";
export type { BroadcastKitEvent, BroadcastKitEventType, EventSink } from "./events.js";
export type { Logger } from "./logger.js";
export type { EnqueuedJob, EnqueueOptions, JobContext, JobHandler, JobQueue } from "./queue.js";
export type { MessageSender, OutgoingMessage, SendOptions, SendResult } from "./sender.js";
export type {
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
} from "./store.js";
export type {
  FlushInfo,
  JobRunInfo,
  SendSettledInfo,
  StatusChangeInfo,
  Telemetry,
  TelemetrySpan,
} from "./telemetry.js";
export type {
  ClaimWebhookDeliveriesRequest,
  ClaimWebhookDeliveriesResult,
  ListWebhookDeliveriesQuery,
  RecordWebhookDeliveryRequest,
  RecordWebhookDeliveryResult,
  WebhookAttemptOutcome,
  WebhookOutbox,
} from "./webhook-outbox.js";
export type { WebhookRequest, WebhookResponse, WebhookTransport } from "./webhook-transport.js";
