import type { RecipientOutcome } from "../../core/outcome.js";
import type { RecipientId } from "../../core/types.js";
import type { ClaimedRecipient } from "../../ports/store.js";

/**
 * One claim a run holds: its recipients in claim order, how far sending has got, and the
 * outcomes settled but not yet written. Outcomes are written per claim because each claim has
 * its own epoch (fencing token).
 */
export class HeldClaim {
  /** Index in `toSend` of the next recipient to start. */
  private cursor = 0;
  /** The recipients to hand out, in claim order: those settled at claim time are not among them. */
  private readonly toSend: readonly ClaimedRecipient[];
  /** Settled outcomes waiting for the next write. */
  private settled: RecipientOutcome[];
  /** Recipients whose outcome is stored, as far as `writtenLater` has been added to it. */
  private readonly written = new Set<RecipientId>();
  /**
   * Written outcomes not yet in `written`: only a renewal or a lost lease asks which recipients
   * are written, so adding a thousand ids per write is put off until one does.
   */
  private writtenLater: (readonly RecipientOutcome[])[] = [];
  /** Outcomes written, each recipient's once. */
  private writtenCount = 0;
  /** Recipients another worker took over: never started again, never written. */
  private readonly lost = new Set<RecipientId>();

  /**
   * Until when (clock milliseconds) the store holds these recipients for this claim, as far as
   * this run knows: the claim's lease, moved on by each renewal the store answered. Past it,
   * another worker may have taken them over.
   */
  private heldUntil: number;

  /**
   * `settledAtClaim`: outcomes decided without sending (a takeover under at-most-once); those
   * recipients are never handed out, so a stopping run writes their outcome instead of releasing them.
   */
  constructor(
    readonly epoch: number,
    readonly recipients: readonly ClaimedRecipient[],
    settledAtClaim: readonly RecipientOutcome[] = [],
    heldUntil = Number.POSITIVE_INFINITY,
  ) {
    this.heldUntil = heldUntil;
    this.settled = [...settledAtClaim];
    if (settledAtClaim.length === 0) {
      this.toSend = recipients;
    } else {
      const decided = new Set(settledAtClaim.map((outcome) => outcome.recipientId));
      this.toSend = recipients.filter((recipient) => !decided.has(recipient.recipientId));
    }
  }

  /** The next recipient to send to, in claim order, skipping lost ones; `undefined` when none is left. */
  take(): ClaimedRecipient | undefined {
    while (this.cursor < this.toSend.length) {
      const recipient = this.toSend[this.cursor++]!;
      if (this.lost.size === 0 || !this.lost.has(recipient.recipientId)) return recipient;
    }
    return undefined;
  }

  /** Whether a recipient is left to start (lost ones skipped). */
  hasNext(): boolean {
    while (this.cursor < this.toSend.length && this.lost.has(this.toSend[this.cursor]!.recipientId)) {
      this.cursor += 1;
    }
    return this.cursor < this.toSend.length;
  }

  /** The lease may have lapsed at `now` (ms): no recipient of this claim may start before the store confirms it. */
  lapsed(now: number): boolean {
    return now >= this.heldUntil;
  }

  /** The store renewed the lease up to `until` (ms); recipients it did not renew are marked lost apart. */
  renewedUntil(until: number): void {
    this.heldUntil = Math.max(this.heldUntil, until);
  }

  get unstarted(): number {
    return this.toSend.length - this.cursor;
  }

  settle(outcome: RecipientOutcome): void {
    this.settled.push(outcome);
  }

  get settledCount(): number {
    return this.settled.length;
  }

  /** Hands over the settled outcomes for writing; those of lost recipients are dropped (they cannot be written). */
  takeSettled(): RecipientOutcome[] {
    const taken = this.settled;
    this.settled = [];
    return this.lost.size === 0 ? taken : taken.filter((outcome) => !this.lost.has(outcome.recipientId));
  }

  /** Every recipient not started yet leaves as `released`: it stays pending for another run. */
  releaseUnstarted(): number {
    let released = 0;
    for (let recipient = this.take(); recipient !== undefined; recipient = this.take()) {
      this.settled.push({ type: "released", recipientId: recipient.recipientId });
      released += 1;
    }
    return released;
  }

  /** These outcomes are stored. */
  markWritten(outcomes: readonly RecipientOutcome[]): void {
    this.writtenLater.push(outcomes);
    this.writtenCount += outcomes.length;
  }

  private writtenSet(): Set<RecipientId> {
    for (const outcomes of this.writtenLater) {
      for (const outcome of outcomes) this.written.add(outcome.recipientId);
    }
    this.writtenLater = [];
    return this.written;
  }

  /** Another worker holds these now: they are not started, and their outcomes are not written. */
  markLost(recipientIds: readonly RecipientId[]): void {
    const written = this.writtenSet();
    for (const recipientId of recipientIds) {
      if (!written.has(recipientId)) this.lost.add(recipientId);
    }
  }

  /** Recipients whose outcome is neither stored nor lost: what a lease renewal must cover. */
  unwritten(): RecipientId[] {
    const ids: RecipientId[] = [];
    const written = this.writtenSet();
    for (const { recipientId } of this.recipients) {
      if (!written.has(recipientId) && !this.lost.has(recipientId)) ids.push(recipientId);
    }
    return ids;
  }

  /** Every recipient's outcome is stored, or was lost to another worker. */
  get finished(): boolean {
    return this.writtenCount + this.lost.size >= this.recipients.length;
  }
}
