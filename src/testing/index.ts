/**
 * `broadcastkit/testing`: fakes for a host's own tests (a Bot API look-alike and a manual clock).
 * It loads with no test runner installed. The store conformance suite, which needs vitest and
 * fast-check, is `describeStoreConformance` from `broadcastkit/testing/conformance`.
 */
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
