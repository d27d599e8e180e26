import type { BroadcastStatus } from "../core/types.js";

/**
 * # In-process status signals
 *
 * Tells this process's send workers the moment a broadcast's status change is stored (a cancel,
 * a pause), so they stop starting sends at once instead of at their next status read. Share one
 * between `createBroadcastService` and `createSendWorker` (the composition root does). Workers in
 * other processes learn of the change by reading the status every `statusPollMs`.
 *
 * Listeners run synchronously after the change is stored; one that throws is ignored.
 */
export interface StatusSignals {
  statusChanged(broadcastId: number, status: BroadcastStatus): void;
  /** Calls `listener` on every stored status change of `broadcastId` until the returned function is called. */
  watch(broadcastId: number, listener: (status: BroadcastStatus) => void): () => void;
}

export function createStatusSignals(): StatusSignals {
  const listeners = new Map<number, Set<(status: BroadcastStatus) => void>>();
  return {
    statusChanged(broadcastId, status) {
      for (const listener of listeners.get(broadcastId) ?? []) {
        try {
          listener(status);
        } catch {
          // A worker's listener only sets a flag; nothing here may undo the stored change.
        }
      }
    },
    watch(broadcastId, listener) {
      let set = listeners.get(broadcastId);
      if (set === undefined) {
        set = new Set();
        listeners.set(broadcastId, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(broadcastId) === set) listeners.delete(broadcastId);
      };
    },
  };
}
