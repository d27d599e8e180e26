/** How many recent round trips the estimate looks at. */
const KEPT = 64;
/**
 * Below this many answers the estimate is 0, which counts messages from their answers (the safe
 * bound): the first calls of a sender are slow (cold connections, code not yet optimised), and a
 * fastest round trip taken among them alone would be too long.
 */
const TRUSTED_FROM = 16;

/**
 * The fastest of a bot's last 64 answered round trips: the network's and the process's own
 * delays at their least. A call that took longer than that may have reached Telegram that much
 * later than it left (the pacer cannot tell the way there from the way back), so the pacer counts
 * it from its answer minus this. That bound holds when the fastest call was fast both ways (each
 * leg at its floor), as the fastest of 64 nearly always is; a fluke-fast sample only makes the
 * pacer more careful. Only counting from answers needs no such assumption, at the cost of a
 * round trip per window.
 */
export class RoundTrips {
  private readonly samples: number[] = [];
  private next = 0;
  private answers = 0;
  private cached: number | undefined;

  add(ms: number): void {
    const sample = Math.max(0, ms);
    if (this.samples.length < KEPT) this.samples.push(sample);
    else this.samples[this.next] = sample;
    this.next = (this.next + 1) % KEPT;
    this.answers++;
    this.cached = undefined;
  }

  /** In ms; 0 until enough answers came back to trust it. */
  fastest(): number {
    if (this.answers < TRUSTED_FROM) return 0;
    this.cached ??= Math.min(...this.samples);
    return this.cached;
  }
}
