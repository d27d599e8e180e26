/**
 * Abort reactions with one listener per signal, however many waits share it: a worker aborts one
 * signal for every send it started, and Node warns past ten listeners on one signal.
 */
interface Watched {
  readonly reactions: Set<() => void>;
  readonly fire: () => void;
}

const watched = new WeakMap<AbortSignal, Watched>();

/** Runs `react` once `signal` aborts (at once if it already has); the returned function stops watching. */
export function onAbort(signal: AbortSignal, react: () => void): () => void {
  if (signal.aborted) {
    react();
    return () => {};
  }
  let entry = watched.get(signal);
  if (entry === undefined) {
    const reactions = new Set<() => void>();
    const fire = () => {
      watched.delete(signal);
      for (const reaction of reactions) reaction();
    };
    entry = { reactions, fire };
    watched.set(signal, entry);
    signal.addEventListener("abort", fire, { once: true });
  }
  const { reactions, fire } = entry;
  const reaction = () => react();
  reactions.add(reaction);
  return () => {
    if (!reactions.delete(reaction) || reactions.size > 0) return;
    signal.removeEventListener("abort", fire);
    if (watched.get(signal) === entry) watched.delete(signal);
  };
}

export const ABORTED: unique symbol = Symbol("aborted");

/** `work`'s value, or `ABORTED` as soon as `signal` aborts (`work` goes on; its value is dropped). */
export function unlessAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | typeof ABORTED> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const stop = onAbort(signal, () => resolve(ABORTED));
    work.then(
      (value) => {
        stop();
        resolve(value);
      },
      (error: unknown) => {
        stop();
        reject(error);
      },
    );
  });
}
