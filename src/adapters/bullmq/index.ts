export { type BullmqQueue, type BullmqQueueOptions, createBullmqQueue } from "./queue.js";
