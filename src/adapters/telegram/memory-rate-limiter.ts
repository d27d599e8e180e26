import type { ChatId } from "../../core/types.js";
import {
  type Answered,
  chatGapMs,
  overallPerSecond,
  type RateLimiterSettings,
  type TelegramRateLimiter,
} from "./rate-limiter.js";

/**
 * One message in the pacer's books. `at` is when it left, moved to when its answer came back:
 * Telegram received it somewhere in between, so counting from the answer is the safe bound.
 */
class Sent {
  answered = false;
  readonly whenAnswered: Promise<void>;
  private resolve: () => void = () => {};

  constructor(public at: number) {
    this.whenAnswered = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  answer(now: number): void {
    if (this.answered) return;
    this.at = Math.max(this.at, now);
    this.answered = true;
    this.resolve();
  }

  static never(): Sent {
    const sent = new Sent(Number.NEGATIVE_INFINITY);
    sent.answer(Number.NEGATIVE_INFINITY);
    return sent;
  }
}

interface ChatPace {
  /** No new booking for this chat before this time. */
  bookedUntil: number;
  /** Its last message, and the gap the next one keeps from it. */
  last: Sent;
  readonly gapMs: number;
}

type GuardOutcome =
  | { readonly type: "sent"; readonly sent: Sent }
  | { readonly type: "paused" }
  | { readonly type: "chatBusy"; readonly freeAt: number }
  | { readonly type: "chatInFlight"; readonly previous: Sent };

/** Below this many remembered chats, idle ones are not swept (sweeping is O(chats)). */
const MIN_SWEEP_SIZE = 1024;

/**
 * # In-process pacer, driven by the injected clock
 *
 * Two mechanisms, because each alone fails one way:
 * - Booking: each call books the next slot, `(1000 + margin) / limit` ms after the previous one,
 *   and sleeps until it. Slots are absolute, so calls are spread evenly and a late timer does not
 *   slow every later message.
 * - Guard: before it sends, a call looks at the message `limit` places back, and waits until one
 *   second (plus margin) has passed since that message's answer came back. Telegram received that
 *   message before answering it, and will receive this one after it leaves, so no one-second
 *   window at Telegram's end holds more than the limit, whatever the network's jitter or a stalled
 *   event loop. The cost is one round trip per second (1 % at 10 ms). While that message is still
 *   in flight, calls wait for its answer (at most the sender's timeout): a bot whose calls hang
 *   slows down instead of piling more calls onto Telegram.
 * Each chat keeps its own gap the same way (1 s; 3 s for groups: 20 per minute); a call whose chat
 * is not free leaves the line and books again, so it holds up no other chat.
 *
 * A 429 pause moves every booking past its end. On a manual clock with a `sleep` that advances
 * it, the same code paces simulated time exactly.
 */
export function createMemoryRateLimiter(settings: RateLimiterSettings): TelegramRateLimiter {
  return new MemoryRateLimiter(settings);
}

class MemoryRateLimiter implements TelegramRateLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly slotMs: number;
  /** The last `limit` messages, oldest at `head` once full. */
  private readonly sent: Sent[] = [];
  private head = 0;
  private nextSlot = Number.NEGATIVE_INFINITY;
  private pausedUntil = Number.NEGATIVE_INFINITY;
  private readonly chats = new Map<string, ChatPace>();
  private sweepAt = MIN_SWEEP_SIZE;
  /**
   * Calls pass the guard one at a time, in the order they woke: only the first waits on a timer.
   * (Each waiting on its own, every answer would wake every waiting call.)
   */
  private guardLine: Promise<unknown> = Promise.resolve();

  constructor(private readonly settings: RateLimiterSettings) {
    this.limit = Math.max(1, Math.floor(overallPerSecond(settings)));
    this.windowMs = 1000 + settings.limits.marginMs;
    this.slotMs = this.windowMs / this.limit;
  }

  async acquire(chatId: ChatId): Promise<Answered> {
    const key = String(chatId);
    let chatFreeAt: number | undefined;
    for (;;) {
      const slot = this.book(key, chatId, chatFreeAt);
      await this.sleepUntil(slot);
      const turn = this.guardLine.then(() => this.passGuard(key, chatId));
      this.guardLine = turn.catch(() => undefined);
      const outcome = await turn;
      if (outcome.type === "sent") {
        const { sent } = outcome;
        return () => sent.answer(this.now());
      }
      // A 429 began, or the chat is not free yet: book again, once it is.
      if (outcome.type === "chatInFlight") {
        await outcome.previous.whenAnswered;
        chatFreeAt = outcome.previous.at + this.chatPace(key, chatId).gapMs;
      } else {
        chatFreeAt = outcome.type === "chatBusy" ? outcome.freeAt : undefined;
      }
    }
  }

  async pause(ms: number): Promise<void> {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private now(): number {
    return this.settings.clock.now().getTime();
  }

  /** Clocks tick in whole milliseconds: rounding up guarantees the clock reaches the target. */
  private async sleepUntil(at: number): Promise<void> {
    const wait = Math.ceil(at - this.now());
    if (wait > 0) await this.settings.sleep(wait);
  }

  private chatPace(key: string, chatId: ChatId): ChatPace {
    let chat = this.chats.get(key);
    if (chat === undefined) {
      const never = Number.NEGATIVE_INFINITY;
      chat = {
        bookedUntil: never,
        last: Sent.never(),
        gapMs: chatGapMs(this.settings.limits, chatId),
      };
      this.chats.set(key, chat);
    }
    return chat;
  }

  /**
   * Books the call's slot. `chatFreeAt`, on booking again after the chat was found busy, replaces
   * the chat's reservation (the call's own earlier one) by when the chat is actually free.
   */
  private book(key: string, chatId: ChatId, chatFreeAt?: number): number {
    const chat = this.chatPace(key, chatId);
    const overall = Math.max(this.now(), this.pausedUntil, this.nextSlot);
    // A call held back by its chat, not by the bot, takes a slot of its own and leaves the
    // bot's slots to other chats (the guard still counts it against the overall limit).
    const slot = Math.max(overall, chatFreeAt ?? chat.bookedUntil);
    if (slot === overall) this.nextSlot = slot + this.slotMs;
    chat.bookedUntil = Math.max(chat.bookedUntil, slot + chat.gapMs);
    return slot;
  }

  /**
   * Waits until the overall window allows a message now and records it. Sends the call back to
   * booking when a pause began, or when its chat is not free yet (it leaves the line rather than
   * hold up other chats).
   */
  private async passGuard(key: string, chatId: ChatId): Promise<GuardOutcome> {
    for (;;) {
      const now = this.now();
      if (now < this.pausedUntil) return { type: "paused" };
      const chat = this.chatPace(key, chatId);
      if (!chat.last.answered) return { type: "chatInFlight", previous: chat.last };
      const chatFreeAt = chat.last.at + chat.gapMs;
      if (chatFreeAt > now) return { type: "chatBusy", freeAt: chatFreeAt };
      const oldest = this.sent.length < this.limit ? undefined : this.sent[this.head];
      if (oldest !== undefined && !oldest.answered) {
        // Not answered yet: Telegram may not have counted it. The line waits (at most the call's timeout).
        await oldest.whenAnswered;
        continue;
      }
      const windowFreeAt = oldest === undefined ? now : oldest.at + this.windowMs;
      if (windowFreeAt <= now) return { type: "sent", sent: this.record(chat, now) };
      await this.sleepUntil(windowFreeAt);
    }
  }

  private record(chat: ChatPace, now: number): Sent {
    const sent = new Sent(now);
    if (this.sent.length < this.limit) {
      this.sent.push(sent);
    } else {
      this.sent[this.head] = sent;
      this.head = (this.head + 1) % this.limit;
    }
    chat.last = sent;
    if (this.chats.size >= this.sweepAt) this.sweep(now);
    return sent;
  }

  /** Forgets chats that no longer hold anything back, so a million-chat broadcast does not keep a million entries. */
  private sweep(now: number): void {
    for (const [key, chat] of this.chats) {
      if (chat.bookedUntil <= now && chat.last.answered && chat.last.at + chat.gapMs <= now) {
        this.chats.delete(key);
      }
    }
    this.sweepAt = Math.max(MIN_SWEEP_SIZE, this.chats.size * 2);
  }
}
