export {
  createFakeSender,
  type FakeSender,
  type FakeSenderOptions,
} from "./fake-sender.js";
export {
  createMemoryQueue,
  type DeadLetter,
  type MemoryQueue,
  type MemoryQueueOptions,
  type PendingJob,
  type QueueRetryOptions,
} from "./queue.js";
export { createMemoryStore, type MemoryStoreOptions, type StoreOperation } from "./store.js";
