import type { ChatId } from "../../core/types.js";
import { ABORTED, onAbort, unlessAborted } from "./abort-watch.js";
import { CountedWindow } from "./counted-window.js";
import {
  type AcquireOptions,
  chatGapMs,
  overallPerSecond,
  type RateLimiterSettings,
  type TelegramRateLimiter,
  type Turn,
} from "./rate-limiter.js";

/**
 * Room kept on top of every window, in ms. A message's count rests on four clock readings, each
 * rounded down to the millisecond (when it left and was answered, and the fastest call's two),
 * which can put it up to 3 ms early; and the fastest call itself took a moment to reach Telegram,
 * which the pacer cannot see. Costs 0.4 % of the rate.
 */
export const WINDOW_SLACK_MS = 4;

/** One message that left, for its chat's next message to keep its gap from. */
class Sent {
  /** When its answer came back; `undefined` while it is in flight. */
  answeredAt: number | undefined;
  readonly whenAnswered: Promise<void>;
  private resolveAnswered: () => void = () => {};

  constructor(readonly sentAt: number) {
    this.whenAnswered = new Promise((resolve) => {
      this.resolveAnswered = resolve;
    });
  }

  answer(now: number): void {
    this.answeredAt = now;
    this.resolveAnswered();
  }
}

/**
 * The messages to one chat, one after another: each waits for the previous one's answer, then the
 * chat's gap. A call that gives up hands its place to whoever comes next.
 */
class ChatLine {
  /** Resolves to the chat's last message once it is answered (`undefined` when there is none). */
  private last: Promise<Sent | undefined> = Promise.resolve(undefined);
  /** Calls in this line whose message is not sent or not answered yet. */
  holders = 0;
  /** From then on the chat is free, as far as its answered messages go. */
  freeAt = Number.NEGATIVE_INFINITY;

  constructor(readonly gapMs: number) {}

  /** `previous` resolves to the message to keep the gap from; `leave` gives what was sent instead (or nothing). */
  join(): { previous: Promise<Sent | undefined>; leave: (sent: Sent | undefined) => void } {
    const previous = this.last;
    let handOver: (last: Promise<Sent | undefined>) => void = () => {};
    this.last = new Promise((resolve) => {
      handOver = resolve;
    });
    this.holders++;
    return {
      previous,
      leave: (sent) => {
        if (sent === undefined) {
          this.holders--;
          handOver(previous);
          return;
        }
        handOver(
          sent.whenAnswered.then(() => {
            this.freeAt = Math.max(this.freeAt, (sent.answeredAt ?? sent.sentAt) + this.gapMs);
            this.holders--;
            return sent;
          }),
        );
      },
    };
  }
}

/** A call waiting for the bot's turn. */
interface Waiter {
  live: boolean;
  readonly resolve: (sent: Sent | undefined) => void;
  readonly reject: (error: unknown) => void;
  stopWatching: () => void;
}

/** Below this many remembered chats, idle ones are not swept (sweeping is O(chats)). */
const MIN_SWEEP_SIZE = 1024;

/**
 * # In-process pacer, driven by the injected clock and sleep
 *
 * Calls wait in one line, first come first served; only its head waits on a timer, so a million
 * waiting sends do not all wake at every answer. The head leaves when both allow it:
 * - Spacing: slots `(1000 + margin) / limit` ms apart. Slots are absolute: a late timer or a
 *   message held back by the guard does not push later slots back, so the next calls catch up.
 * - Guard (`CountedWindow`): fewer than `limit` messages may still count in the window (one
 *   second plus margin plus `WINDOW_SLACK_MS`). A message counts from when it left; if its answer
 *   came back slower than the fastest of the last 64 round trips, from that much later, since it
 *   may have reached Telegram that late (a stalled event loop, a slow leg of the network: the
 *   pacer cannot tell the way there from the way back). While in flight it counts in every
 *   window, so with `limit` calls unanswered the line waits for an answer (at most the sender's
 *   timeout): a bot whose calls hang slows down instead of piling more calls onto Telegram. Until
 *   16 answers came back, messages count from their answers (the safe bound); when a faster round
 *   trip than any before shows up, the messages still counted are counted again with it.
 * Counting from departures, a sender reaches the limit whatever the round trip, provided enough
 * calls wait: about `limit × round trip` in flight, plus a few waiting. What the guard costs is
 * how much round trips vary above the fastest one (about 3 % when they vary by ±30 ms). It assumes
 * the fastest recent call was fast both ways; should delays move from the way back to the way
 * there within 64 calls, a window could hold a call more, up to that delay early (`marginMs`
 * covers a network known to do so).
 *
 * Each chat keeps its own gap (1 s; 3 s for groups: 20 per minute), counted from its previous
 * message's answer. A call waits for its chat before it joins the line, so it holds up no other chat.
 *
 * A 429 pause holds the line until it ends; slots start again from its end. An aborted call
 * leaves the line at once; it had no slot of its own, so later calls are not slowed. On a manual
 * clock with a `sleep` that advances it, the same code paces simulated time exactly.
 */
export function createMemoryRateLimiter(settings: RateLimiterSettings): TelegramRateLimiter {
  return new MemoryRateLimiter(settings);
}

class MemoryRateLimiter implements TelegramRateLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly slotMs: number;
  private readonly window: CountedWindow;
  private nextSlot = Number.NEGATIVE_INFINITY;
  private pausedUntil = Number.NEGATIVE_INFINITY;
  private readonly chats = new Map<string, ChatLine>();
  private sweepAt = MIN_SWEEP_SIZE;
  /** Calls waiting for the bot's turn, in order; given-up ones are dropped when they reach the front. */
  private line: Waiter[] = [];
  private lineStart = 0;
  private waiting = 0;
  private pumping = false;
  /** Stops the head's timer when every waiting call gave up. */
  private pumpTimer: AbortController | undefined;

  constructor(private readonly settings: RateLimiterSettings) {
    this.limit = Math.max(1, Math.floor(overallPerSecond(settings)));
    this.windowMs = 1000 + settings.limits.marginMs + WINDOW_SLACK_MS;
    this.slotMs = (1000 + settings.limits.marginMs) / this.limit;
    this.window = new CountedWindow(this.limit, this.windowMs);
  }

  async acquire(chatId: ChatId, options: AcquireOptions = {}): Promise<Turn> {
    const { signal } = options;
    if (signal?.aborted) return { type: "aborted" };
    const chat = this.chatLine(String(chatId), chatId);
    // A chat with nothing in flight and its gap passed (nearly every call of a broadcast) joins the
    // line now, so calls join it in the order they asked, whatever each one awaits.
    const chatFree = chat.holders === 0 && chat.freeAt <= this.now();
    const place = chat.join();
    let sent: Sent | undefined;
    try {
      sent = chatFree ? await this.waitInLine(signal) : await this.takeTurn(chat, place.previous, signal);
    } finally {
      place.leave(sent);
    }
    if (sent === undefined) return { type: "aborted" };
    const mine = sent;
    return { type: "acquired", answered: () => this.answer(mine) };
  }

  async pause(ms: number): Promise<void> {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private now(): number {
    return this.settings.clock.now().getTime();
  }

  /** Clocks tick in whole milliseconds: rounding up guarantees the clock reaches the target. */
  private async sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    const wait = Math.ceil(at - this.now());
    if (wait > 0) await this.settings.sleep(wait, signal);
  }

  /** The chat's turn, then the bot's; `undefined` when the signal aborted first. */
  private async takeTurn(
    chat: ChatLine,
    previous: Promise<Sent | undefined>,
    signal: AbortSignal | undefined,
  ): Promise<Sent | undefined> {
    const before = await unlessAborted(previous, signal);
    if (before === ABORTED) return undefined;
    if (before !== undefined) {
      await this.sleepUntil((before.answeredAt ?? before.sentAt) + chat.gapMs, signal);
      if (signal?.aborted) return undefined;
    }
    return this.waitInLine(signal);
  }

  private answer(sent: Sent): void {
    if (sent.answeredAt !== undefined) return;
    const now = this.now();
    sent.answer(now);
    this.window.answered(sent.sentAt, now);
  }

  private chatLine(key: string, chatId: ChatId): ChatLine {
    let chat = this.chats.get(key);
    if (chat === undefined) {
      chat = new ChatLine(chatGapMs(this.settings.limits, chatId));
      this.chats.set(key, chat);
    }
    return chat;
  }

  private waitInLine(signal: AbortSignal | undefined): Promise<Sent | undefined> {
    return new Promise((resolve, reject) => {
      // After a quiet spell the first call does not inherit slots nobody used.
      if (this.waiting === 0) this.nextSlot = Math.max(this.nextSlot, this.now());
      const waiter: Waiter = { live: true, resolve, reject, stopWatching: () => {} };
      this.line.push(waiter);
      this.waiting++;
      if (signal !== undefined) waiter.stopWatching = onAbort(signal, () => this.giveUp(waiter));
      this.pump();
    });
  }

  private giveUp(waiter: Waiter): void {
    if (!waiter.live) return;
    this.leaveLine(waiter);
    waiter.resolve(undefined);
    if (this.waiting === 0) this.pumpTimer?.abort();
  }

  private leaveLine(waiter: Waiter): void {
    waiter.live = false;
    waiter.stopWatching();
    this.waiting--;
  }

  /** The first call still waiting; drops given-up ones from the front. */
  private front(): Waiter | undefined {
    while (this.lineStart < this.line.length) {
      const waiter = this.line[this.lineStart];
      if (waiter?.live) return waiter;
      this.lineStart++;
    }
    this.line = [];
    this.lineStart = 0;
    return undefined;
  }

  private shift(): void {
    this.lineStart++;
    if (this.lineStart >= 1024 && this.lineStart * 2 >= this.line.length) {
      this.line = this.line.slice(this.lineStart);
      this.lineStart = 0;
    }
  }

  /** Lets the line's calls go, one at a time; runs while calls wait, then stops. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.letThrough()
      .catch((error: unknown) => {
        // The sleep failed: fail every waiting call alike (the sender reports the limiter unavailable).
        for (let waiter = this.front(); waiter !== undefined; waiter = this.front()) {
          this.leaveLine(waiter);
          waiter.reject(error);
        }
      })
      .finally(() => {
        this.pumping = false;
        if (this.waiting > 0) this.pump();
      });
  }

  private async letThrough(): Promise<void> {
    for (let waiter = this.front(); waiter !== undefined; waiter = this.front()) {
      const now = this.now();
      const windowFreeAt = this.window.freeAt(now);
      if (windowFreeAt === undefined) {
        // `limit` calls in flight: each may reach Telegram at any moment. Wait for an answer.
        await this.window.whenAnswered;
        continue;
      }
      const at = Math.max(this.nextSlot, this.pausedUntil, windowFreeAt);
      if (at > now) {
        await this.waitForFront(at);
        continue;
      }
      this.shift();
      this.leaveLine(waiter);
      // The slot used, not now: a late timer or the guard do not push the next slots back (a
      // backlog of at most one window is caught up).
      this.nextSlot = Math.max(this.nextSlot, this.pausedUntil, now - this.windowMs) + this.slotMs;
      waiter.resolve(this.record(now));
    }
  }

  private async waitForFront(at: number): Promise<void> {
    const timer = new AbortController();
    this.pumpTimer = timer;
    try {
      await this.sleepUntil(at, timer.signal);
    } finally {
      this.pumpTimer = undefined;
    }
  }

  private record(now: number): Sent {
    const sent = new Sent(now);
    this.window.sent();
    if (this.chats.size >= this.sweepAt) this.sweep(now);
    return sent;
  }

  /** Forgets chats that no longer hold anything back, so a million-chat broadcast does not keep a million entries. */
  private sweep(now: number): void {
    for (const [key, chat] of this.chats) {
      if (chat.holders === 0 && chat.freeAt <= now) this.chats.delete(key);
    }
    this.sweepAt = Math.max(MIN_SWEEP_SIZE, this.chats.size * 2);
  }
}
