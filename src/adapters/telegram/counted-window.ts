import { RoundTrips } from "./round-trips.js";

/** One answered message still counted. */
interface Counted {
  readonly sentAt: number;
  readonly answeredAt: number;
  countedAt: number;
}

/**
 * The latest a message that left at `sentAt` and was answered at `answeredAt` may have reached
 * Telegram, as far as the pacer can tell: its round trip, less the fastest one seen, may all
 * have been on the way there.
 */
export const countedAt = (sentAt: number, answeredAt: number, fastestRoundTripMs: number): number =>
  Math.max(sentAt, answeredAt - fastestRoundTripMs);

/**
 * # The messages that may still count in a one-second window at Telegram's end
 *
 * A message counts from when it left until a window after it was *counted* (`countedAt`): when it
 * left, plus how much slower than the fastest recent round trip its own was. While in flight it
 * counts in every window, as it may reach Telegram at any moment. One more message may leave at
 * `t` when fewer than `limit` messages count at `t`: so no window, wherever it starts, holds more
 * than `limit` arrivals.
 *
 * When a faster round trip than any before shows up (the first calls of a sender are slow, and
 * often on the way there: new connections), the messages already counted are counted again with
 * it: they may have reached Telegram later than thought. Counts only ever move later.
 */
export class CountedWindow {
  private readonly roundTrips = new RoundTrips();
  private inFlight = 0;
  /** Answered messages still counted, by `countedAt`, ascending; those before `start` are forgotten. */
  private counted: Counted[] = [];
  private start = 0;
  private answerCame: Promise<void>;
  private wake: () => void = () => {};

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.answerCame = this.nextAnswer();
  }

  sent(): void {
    this.inFlight++;
  }

  /** The fastest recent round trip, in ms (0 until enough answers came back to trust one). */
  fastestRoundTrip(): number {
    return this.roundTrips.fastest();
  }

  answered(sentAt: number, answeredAt: number): void {
    this.inFlight--;
    const before = this.roundTrips.fastest();
    this.roundTrips.add(answeredAt - sentAt);
    const fastest = this.roundTrips.fastest();
    if (fastest < before) this.recount(fastest);
    const message = { sentAt, answeredAt, countedAt: countedAt(sentAt, answeredAt, fastest) };
    // Answers come back nearly in order: look for the place from the end.
    let at = this.counted.length;
    while (at > this.start && (this.counted[at - 1]?.countedAt ?? 0) > message.countedAt) at--;
    this.counted.splice(at, 0, message);
    this.wake();
    this.answerCame = this.nextAnswer();
  }

  /**
   * The earliest time, not before `now`, at which one more message may leave; `undefined` while
   * `limit` messages are in flight (then wait for `whenAnswered`).
   */
  freeAt(now: number): number | undefined {
    this.forgetBefore(now - this.windowMs);
    const room = this.limit - 1 - this.inFlight;
    if (room < 0) return undefined;
    const stillCounted = this.counted.length - this.start;
    if (stillCounted <= room) return now;
    return (this.counted[this.counted.length - 1 - room]?.countedAt ?? now) + this.windowMs;
  }

  /** Resolves at the next answer. */
  get whenAnswered(): Promise<void> {
    return this.answerCame;
  }

  private recount(fastest: number): void {
    const live = this.counted.slice(this.start);
    for (const message of live) message.countedAt = Math.max(message.countedAt, message.answeredAt - fastest);
    this.counted = live.sort((a, b) => a.countedAt - b.countedAt);
    this.start = 0;
  }

  private nextAnswer(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private forgetBefore(time: number): void {
    while (this.start < this.counted.length && (this.counted[this.start]?.countedAt ?? 0) <= time)
      this.start++;
    if (this.start > 1024 && this.start * 2 > this.counted.length) {
      this.counted = this.counted.slice(this.start);
      this.start = 0;
    }
  }
}
