export {
  type BotAnswer,
  botAnswers,
  closedPortUrl,
  createFakeBotApi,
  type FakeBotApi,
  type FakeBotApiOptions,
  type FakeLatency,
  type RecordedBotRequest,
} from "./fake-bot-api.js";
export { createManualClock, type ManualClock } from "./manual-clock.js";
export {
  describeStoreConformance,
  type MakeStore,
  type StoreConformanceOptions,
} from "./store-conformance.js";
