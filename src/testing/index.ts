export { createManualClock, type ManualClock } from "./manual-clock.js";
export {
  describeStoreConformance,
  type MakeStore,
  type StoreConformanceOptions,
} from "./store-conformance.js";
// createFakeBotApi: export { createFakeBotApi } from "./fake-bot-api.js"; (added by the Telegram adapter's author)
