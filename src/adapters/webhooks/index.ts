export { createWebhookTransport, type WebhookTransportOptions } from "./transport.js";
