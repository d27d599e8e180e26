import { err, ok, okAsync, type Result } from "neverthrow";
import type { BroadcastError } from "../../core/errors.js";
import type { RecipientOutcome } from "../../core/outcome.js";
import { pendingCount } from "../../core/progress.js";
import type { Broadcast, BroadcastStatus, PauseReason, SendJob } from "../../core/types.js";
import type { JobContext } from "../../ports/queue.js";
import type { ClaimedRecipient, RenewLeaseResult } from "../../ports/store.js";
import type { SendSettledInfo, TelemetrySpan } from "../../ports/telemetry.js";
import { adapterCall, withFields } from "../guarded-ports.js";
import { completedEvent } from "../lifecycle-events.js";
import { enqueueSend } from "../send-jobs.js";
import type { ServiceDeps } from "../service-deps.js";
import { noTelemetry } from "../telemetry.js";
import { runTransition } from "../transition-runner.js";
import type { WorkerRunSummary, WorkerStopReason } from "../types.js";
import {
  type BatchMessage,
  batchMessage,
  type ContentRefusal,
  type DeliveryContext,
  deliverOne,
  deliveryUnknown,
  mustNotResend,
  unexpectedFailure,
} from "./deliver.js";
import { HeldClaim } from "./held-claim.js";
import { crossedThreshold, emptyTally, type RunTally, tallyOutcomes } from "./tally.js";

const NOTHING_LOST: RenewLeaseResult = { lost: [] };

export interface RunSettings {
  readonly owner: string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly leaseMs: number;
  readonly statusPollMs: number;
  readonly errorLogLimit: number;
}

export interface RunContext {
  readonly deps: ServiceDeps;
  readonly delivery: DeliveryContext;
  readonly settings: RunSettings;
}

/** Why a run stops starting sends before it ran out of recipients. */
type Halt =
  | { readonly type: "not_sending"; readonly status: BroadcastStatus | null }
  | { readonly type: "paused_itself"; readonly reason: PauseReason }
  | { readonly type: "storage"; readonly error: BroadcastError }
  | { readonly type: "closed" };

interface Taken {
  readonly claim: HeldClaim;
  readonly recipient: ClaimedRecipient;
}

/** The last claim that found nobody: when to look again (`null`: nobody is pending at all). */
interface Exhaustion {
  readonly retryAt: Date | null;
  /** Taken while this run held nothing: its `retryAt` does not count this run's own leases. */
  readonly fresh: boolean;
}

/**
 * One run of a send job. Up to `concurrency` lanes each take the next claimed recipient (in claim
 * order), send, and settle its outcome; the next claim is taken while fewer than
 * max(`concurrency`, `batchSize` / 2) recipients are left unstarted, so the lanes never wait for
 * the store. Settled outcomes are written per claim
 * when `batchSize` have settled or `flushIntervalMs` has passed. Claims are renewed while held; one
 * whose lease lapsed under the run (a stalled process) hands out nobody until the store renewed it.
 * A stored cancel or pause (seen through the process's signals at once, or the status read every
 * `statusPollMs`) stops new sends at once: sends waiting for their turn give up, those in flight
 * settle and are written, unstarted recipients are released.
 *
 * After a crash, sends that happened but were not written are at most the sends in flight
 * (≤ `concurrency`) plus the settled outcomes not yet written (< 2 × `batchSize`: lanes wait for
 * the write when that many pile up).
 */
export class SendRun {
  private readonly claims: HeldClaim[] = [];
  private claiming: Promise<void> | null = null;
  private revalidating: Promise<void> | null = null;
  private exhausted: Exhaustion | null = null;
  private halt: Halt | null = null;
  private readonly abort = new AbortController();
  private readonly sendOptions = { signal: this.abort.signal };
  /** Settled outcomes not stored yet, including those being written right now. */
  private unwritten = 0;
  /** Of `unwritten`, those handed to the write in progress. */
  private beingWritten = 0;
  /** Store writes of this run, one at a time: a renewal and a write of the same rows never race. */
  private writes: Promise<unknown> = Promise.resolve();
  private flushing: Promise<void> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private stopWatching: () => void = () => {};
  private polling = false;
  private message: BatchMessage | null = null;
  /** The broadcast as the last write of this run left it. */
  private lastWritten: Broadcast | null = null;
  private readonly tally: RunTally = emptyTally();
  private writesDone = 0;

  /** The ports, with a logger that names this run's broadcast and job on every line. */
  private readonly deps: ServiceDeps;
  private readonly delivery: DeliveryContext;
  private readonly span: TelemetrySpan;
  /** Without telemetry, sends are not timed: two clock reads per recipient saved on the hot path. */
  private readonly measured: boolean;

  constructor(
    private readonly ctx: RunContext,
    private readonly job: SendJob,
    private readonly context: JobContext | undefined,
  ) {
    const logger = withFields(ctx.deps.logger, {
      broadcastId: job.broadcastId,
      ...(context === undefined ? {} : { jobId: context.jobId }),
      ...(job.part === undefined || job.part === 0 ? {} : { part: job.part }),
    });
    this.deps = { ...ctx.deps, logger };
    this.delivery = { ...ctx.delivery, logger };
    this.measured = this.deps.telemetry !== noTelemetry;
    this.span = this.deps.telemetry.jobRun({
      broadcastId: job.broadcastId,
      jobId: context?.jobId ?? null,
      part: job.part ?? 0,
      onlyFailed: job.onlyFailed,
    });
  }

  /** Stops starting sends, as a cancel would; the run then winds down and ends `closed`. */
  close(): void {
    this.stop({ type: "closed" });
  }

  async execute(): Promise<Result<WorkerRunSummary, BroadcastError>> {
    const { store, logger, telemetry, clock } = this.deps;
    const { broadcastId } = this.job;
    const dueAt = this.context?.dueAt;
    if (dueAt !== undefined) telemetry.queueLag(Math.max(0, clock.now().getTime() - dueAt.getTime()));
    const loaded = await adapterCall(logger, "getBroadcast", () => store.getBroadcast(broadcastId));
    if (loaded.isErr()) return this.fail(loaded.error);
    const broadcast = loaded.value;
    if (broadcast === null) return this.end("not_found", null);
    if (broadcast.status !== "sending") return this.end("not_sending", broadcast.status);
    if (pendingCount(broadcast) <= 0) return this.settleBroadcast();
    if (this.halt?.type === "closed") return this.conclude();

    this.message = batchMessage(broadcast, this.deps.clock.now());
    this.watch();
    try {
      for (;;) {
        await Promise.all(Array.from({ length: this.ctx.settings.concurrency }, () => this.lane()));
        await this.writeEverything();
        if (this.halt !== null || this.foundNobodyWhileIdle()) break;
        if (this.lastWritten !== null && pendingCount(this.lastWritten) === 0) return this.settleBroadcast();
        // Everything this run held is written: look again, now that its own leases are gone.
        this.exhausted = null;
        await this.claim();
        if (this.halt !== null || this.foundNobodyWhileIdle()) {
          await this.writeEverything();
          break;
        }
      }
    } finally {
      this.unwatch();
    }
    return this.conclude();
  }

  /** The last claim found nobody, and this run held nothing then: there is nothing to do now. */
  private foundNobodyWhileIdle(): boolean {
    return this.exhausted?.fresh === true;
  }

  // --- lanes -------------------------------------------------------------------------------

  private async lane(): Promise<void> {
    const { delivery } = this;
    const { telemetry } = this.deps;
    for (;;) {
      const taken = this.takeNow() ?? (await this.waitForWork());
      if (taken === null) return;
      const { claim, recipient } = taken;
      let outcome: Awaited<ReturnType<typeof deliverOne>>;
      const startedAt = this.measured ? performance.now() : 0;
      telemetry.inFlight(1);
      try {
        outcome = await deliverOne(delivery, this.message!, recipient, this.sendOptions);
      } catch (cause) {
        // deliverOne answers every sender failure as an outcome; reaching here is a bug of ours.
        this.deps.logger.error({ err: cause }, "send lane failed");
        outcome = unexpectedFailure(delivery, recipient);
      } finally {
        telemetry.inFlight(-1);
      }
      if (this.measured) {
        telemetry.sendSettled(settledInfo(this.job.broadcastId, outcome, performance.now() - startedAt));
      }
      if (outcome.type === "content_refused") {
        claim.settle({ type: "released", recipientId: recipient.recipientId });
        this.deps.logger.warn(
          { description: outcome.description },
          "message refused by the platform; pausing",
        );
        this.stop({
          type: "paused_itself",
          reason: { type: "content_refused", description: outcome.description },
        });
      } else {
        claim.settle(outcome);
      }
      this.settled();
    }
  }

  /**
   * The next recipient when one is ready now (the hot path: no await). A claim whose lease lapsed
   * by this run's clock (its process stalled past it) hands out nobody until the store confirms
   * which of its recipients it still holds (`revalidate`): another worker may have taken them.
   */
  private takeNow(): Taken | null {
    if (this.halt !== null || this.unwritten >= 2 * this.ctx.settings.batchSize) return null;
    let now: number | undefined;
    for (const claim of this.claims) {
      if (!claim.hasNext()) continue;
      now ??= this.deps.clock.now().getTime();
      if (claim.lapsed(now)) continue;
      const recipient = claim.take();
      if (recipient !== undefined) {
        this.claimAheadIfLow();
        return { claim, recipient };
      }
    }
    return null;
  }

  private async waitForWork(): Promise<Taken | null> {
    for (;;) {
      if (this.halt !== null) return null;
      if (this.unwritten >= 2 * this.ctx.settings.batchSize) {
        await this.flush();
      } else {
        const taken = this.takeNow();
        if (taken !== null) return taken;
        if (this.lapsedClaim()) await this.revalidate();
        else if (this.claiming !== null) await this.claiming;
        else if (this.exhausted !== null) return null;
        else await this.claim();
      }
    }
  }

  /** A claim with recipients left to start whose lease lapsed by this run's clock. */
  private lapsedClaim(): boolean {
    const now = this.deps.clock.now().getTime();
    return this.claims.some((claim) => claim.hasNext() && claim.lapsed(now));
  }

  /**
   * This run outlived a lease without renewing it (its process stalled: a SIGSTOP, a long pause):
   * before it starts another send, the store renews what it still holds (the rest is lost to
   * another worker) and the status is read again (a cancel may have answered meanwhile, counting
   * on the lapsed lease). A renewal or read that fails stops the run.
   */
  private revalidate(): Promise<void> {
    this.revalidating ??= (async () => {
      const failure = await this.renewLeases();
      if (failure !== null) {
        this.stop({ type: "storage", error: failure });
        return;
      }
      const status = await this.readStatus();
      if (status !== "sending" && status !== undefined) this.stop({ type: "not_sending", status });
    })().finally(() => {
      this.revalidating = null;
    });
    return this.revalidating;
  }

  private unstarted(): number {
    let count = 0;
    for (const claim of this.claims) count += claim.unstarted;
    return count;
  }

  private claimAheadIfLow(): void {
    if (this.claiming !== null || this.exhausted !== null || this.halt !== null) return;
    const { concurrency, batchSize } = this.ctx.settings;
    if (this.unstarted() < Math.max(concurrency, Math.ceil(batchSize / 2))) void this.claim();
  }

  // --- claims ------------------------------------------------------------------------------

  private claim(): Promise<void> {
    this.claiming ??= this.claimNext().finally(() => {
      this.claiming = null;
    });
    return this.claiming;
  }

  private async claimNext(): Promise<void> {
    const { settings } = this.ctx;
    const { deps } = this;
    const { broadcastId, onlyFailed } = this.job;
    const heldNothing = this.claims.length === 0;
    const now = deps.clock.now();
    const claimed = await adapterCall(deps.logger, "claimRecipients", () =>
      deps.store.claimRecipients({
        broadcastId,
        owner: settings.owner,
        limit: settings.batchSize,
        now,
        leaseMs: settings.leaseMs,
        onlyFailed,
      }),
    );
    if (claimed.isErr()) {
      this.stop({ type: "storage", error: claimed.error });
      return;
    }
    const { epoch, recipients, retryAt } = claimed.value;
    if (recipients.length === 0) {
      this.exhausted = { retryAt, fresh: heldNothing };
      return;
    }
    // A cancel or pause stored between the last status read and the claim must stop this claim
    // too: only recipients claimed while the broadcast was still sending are sent. A store that
    // answers the status with the claim spares the read.
    const status = claimed.value.status !== undefined ? claimed.value.status : await this.readStatus();
    if (status !== "sending" && status !== undefined) this.stop({ type: "not_sending", status });
    this.hold(epoch, recipients, now.getTime() + settings.leaseMs);
  }

  /**
   * Under at-most-once, recipients taken over are settled as "delivery unknown" here and never
   * handed out: released unsent by a stopping run, they would lose their takeover mark, and a
   * later run would send them again.
   */
  private hold(epoch: number, recipients: readonly ClaimedRecipient[], heldUntil: number): void {
    const settledAtClaim: RecipientOutcome[] = [];
    for (const recipient of recipients) {
      if (!mustNotResend(this.delivery, recipient)) continue;
      const outcome = deliveryUnknown(recipient);
      settledAtClaim.push(outcome);
      this.deps.telemetry.sendSettled(settledInfo(this.job.broadcastId, outcome, 0));
    }
    this.claims.push(new HeldClaim(epoch, recipients, settledAtClaim, heldUntil));
    for (let i = 0; i < settledAtClaim.length; i += 1) this.settled();
  }

  /** The broadcast's status now (`null`: gone); `undefined` when the read failed, and the run stops. */
  private async readStatus(): Promise<BroadcastStatus | null | undefined> {
    const { deps } = this;
    const read = await adapterCall(deps.logger, "getBroadcast", () =>
      deps.store.getBroadcast(this.job.broadcastId),
    );
    if (read.isErr()) {
      this.stop({ type: "storage", error: read.error });
      return undefined;
    }
    return read.value?.status ?? null;
  }

  // --- writes ------------------------------------------------------------------------------

  private settled(): void {
    this.unwritten += 1;
    if (this.unwritten - this.beingWritten >= this.ctx.settings.batchSize) void this.flush();
    else this.armFlushTimer();
  }

  private armFlushTimer(): void {
    if (this.flushTimer !== null) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, this.ctx.settings.flushIntervalMs);
    this.flushTimer.unref?.();
  }

  /** Writes the settled outcomes of every claim: one store call per claim that has some. */
  private flush(): Promise<void> {
    if (this.flushing !== null) return this.flushing;
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const batches: [HeldClaim, RecipientOutcome[]][] = [];
    let handed = 0;
    for (const claim of this.claims) {
      const count = claim.settledCount;
      if (count === 0) continue;
      handed += count;
      batches.push([claim, claim.takeSettled()]);
    }
    if (handed === 0) return Promise.resolve();
    this.beingWritten = handed;
    this.flushing = this.serialized(async () => {
      for (const [claim, outcomes] of batches) await this.write(claim, outcomes);
    }).finally(() => {
      this.unwritten -= handed;
      this.beingWritten = 0;
      this.flushing = null;
      for (let i = this.claims.length - 1; i >= 0; i -= 1) {
        if (this.claims[i]!.finished) this.claims.splice(i, 1);
      }
      if (this.unwritten >= this.ctx.settings.batchSize) void this.flush();
      else if (this.unwritten > 0) this.armFlushTimer();
    });
    return this.flushing;
  }

  private serialized<T>(work: () => PromiseLike<T>): Promise<T> {
    const next = this.writes.then(work, work);
    this.writes = next.catch(() => undefined);
    return next;
  }

  /** Stores one claim's outcomes, as a span of the run's. */
  private async write(claim: HeldClaim, outcomes: readonly RecipientOutcome[]): Promise<void> {
    const span = this.deps.telemetry.flush(this.span, {
      broadcastId: this.job.broadcastId,
      epoch: claim.epoch,
      outcomes: outcomes.length,
    });
    try {
      await this.writeIn(claim, outcomes, span);
    } finally {
      span.end(this.halt?.type === "storage" ? "storage" : undefined);
    }
  }

  /** A lease lost meanwhile drops those recipients and stores the rest. */
  private async writeIn(
    claim: HeldClaim,
    outcomes: readonly RecipientOutcome[],
    span: TelemetrySpan,
  ): Promise<void> {
    const { settings } = this.ctx;
    const { deps } = this;
    const { broadcastId } = this.job;
    let remaining = outcomes;
    for (let attempt = 0; attempt < 2 && remaining.length > 0; attempt += 1) {
      const now = deps.clock.now();
      const recorded = await adapterCall(deps.logger, "recordOutcomes", () =>
        deps.store.recordOutcomes({
          broadcastId,
          epoch: claim.epoch,
          outcomes: remaining,
          now,
          errorLogLimit: settings.errorLogLimit,
        }),
      );
      if (recorded.isErr()) {
        this.stop({ type: "storage", error: recorded.error });
        return;
      }
      const result = recorded.value;
      if (result.type === "not_found") {
        this.stop({ type: "not_sending", status: null });
        return;
      }
      if (result.type === "lease_lost") {
        deps.logger.warn(
          { broadcastId, epoch: claim.epoch, recipientIds: result.recipientIds },
          "lease lost; another worker owns these recipients now",
        );
        claim.markLost(result.recipientIds);
        span.setAttributes({ "broadcastkit.lease.lost": result.recipientIds.length });
        const lost = new Set(result.recipientIds);
        remaining = remaining.filter((outcome) => !lost.has(outcome.recipientId));
        continue;
      }
      claim.markWritten(remaining);
      this.writesDone += 1;
      tallyOutcomes(this.tally, remaining);
      this.afterWrite(result.broadcast, remaining, now);
      return;
    }
  }

  private afterWrite(after: Broadcast, outcomes: readonly RecipientOutcome[], at: Date): void {
    const { broadcastId } = this.job;
    this.lastWritten = after;
    let newlyFailed = 0;
    for (const outcome of outcomes) {
      if (outcome.type !== "failed") continue;
      newlyFailed += 1;
      const { recipientId, error, kind } = outcome;
      this.deps.emit({ type: "recipient.failed", broadcastId, at, recipientId, error, kind });
    }
    if (pendingCount(after) > 0 && crossedThreshold(after.errorThreshold, after.failedCount, newlyFailed)) {
      const threshold = after.errorThreshold ?? 0;
      this.deps.logger.warn(
        { broadcastId, failedCount: after.failedCount, threshold },
        "error threshold reached; pausing",
      );
      this.stop({
        type: "paused_itself",
        reason: { type: "error_threshold", failedCount: after.failedCount, threshold },
      });
    }
  }

  /** Once no lane runs: what was not started is released, and everything settled is written. */
  private async writeEverything(): Promise<void> {
    // A claim taken ahead may still be on its way: it must be released with the rest.
    while (this.claiming !== null) await this.claiming;
    if (this.halt !== null) {
      for (const claim of this.claims) {
        const released = claim.releaseUnstarted();
        this.unwritten += released;
      }
    }
    while (this.flushing !== null || this.claims.some((claim) => claim.settledCount > 0)) {
      await this.flush();
    }
    this.claims.length = 0;
  }

  // --- watching the broadcast -------------------------------------------------------------

  private stop(halt: Halt): void {
    if (this.halt !== null) return;
    this.halt = halt;
    this.abort.abort();
  }

  private watch(): void {
    const { settings } = this.ctx;
    const { deps } = this;
    const { broadcastId } = this.job;
    this.stopWatching =
      deps.signals?.watch(broadcastId, (status) => {
        if (status !== "sending") this.stop({ type: "not_sending", status });
      }) ?? (() => {});
    const poll = setInterval(() => void this.pollStatus(), settings.statusPollMs);
    const renew = setInterval(() => void this.renewLeases(), Math.max(1, Math.floor(settings.leaseMs / 3)));
    poll.unref?.();
    renew.unref?.();
    this.timers.push(poll, renew);
  }

  private unwatch(): void {
    this.stopWatching();
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  private async pollStatus(): Promise<void> {
    if (this.polling || this.halt !== null) return;
    this.polling = true;
    const { deps } = this;
    try {
      const read = await adapterCall(deps.logger, "getBroadcast", () =>
        deps.store.getBroadcast(this.job.broadcastId),
      );
      // A failed read is not the run's failure: the next write will tell if the store is gone.
      if (read.isOk() && read.value?.status !== "sending") {
        this.stop({ type: "not_sending", status: read.value?.status ?? null });
      }
    } finally {
      this.polling = false;
    }
  }

  /** Renews every claim's lease; answers the first failure (the others are still tried). */
  private async renewLeases(): Promise<BroadcastError | null> {
    const { settings } = this.ctx;
    const { deps } = this;
    const { broadcastId } = this.job;
    let failure: BroadcastError | null = null;
    for (const claim of [...this.claims]) {
      if (claim.finished) continue;
      // Read inside the serialized turn: a flush ahead of it may write some of these recipients,
      // and renewing a written recipient reports it lost.
      const renewed = await this.serialized(() => {
        const recipientIds = claim.unwritten();
        const now = deps.clock.now();
        const until = now.getTime() + settings.leaseMs;
        if (recipientIds.length === 0) return okAsync({ answer: NOTHING_LOST, until });
        return adapterCall(deps.logger, "renewLease", () =>
          deps.store.renewLease({
            broadcastId,
            epoch: claim.epoch,
            recipientIds,
            now,
            leaseMs: settings.leaseMs,
          }),
        ).map((answer) => ({ answer, until }));
      });
      if (renewed.isErr()) {
        failure ??= renewed.error;
        continue;
      }
      const { answer, until } = renewed.value;
      // Those it did not renew are lost (below), never started again: the rest are held until then.
      claim.renewedUntil(until);
      if (answer.lost.length > 0) {
        deps.logger.warn(
          { broadcastId, epoch: claim.epoch, recipientIds: answer.lost },
          "lease lost before renewal; another worker owns these recipients now",
        );
        claim.markLost(answer.lost);
      }
    }
    return failure;
  }

  // --- the end -----------------------------------------------------------------------------

  private async conclude(): Promise<Result<WorkerRunSummary, BroadcastError>> {
    const halt = this.halt;
    if (halt !== null) {
      switch (halt.type) {
        case "storage":
          return this.fail(halt.error);
        case "not_sending":
          return this.end(halt.status === null ? "not_found" : "not_sending", halt.status);
        case "paused_itself":
          return this.pauseItself(halt.reason);
        case "closed": {
          // Queued again so that another worker takes it over at once (with a durable queue).
          const queued = await enqueueSend(this.deps, this.job);
          if (queued.isErr()) return this.fail(queued.error);
          return this.end("closed", "sending");
        }
      }
    }
    const retryAt = this.exhausted?.retryAt ?? null;
    if (retryAt === null) return this.settleBroadcast();
    const delayMs = Math.max(0, retryAt.getTime() - this.deps.clock.now().getTime());
    const queued = await enqueueSend(this.deps, this.job, delayMs);
    if (queued.isErr()) return this.fail(queued.error);
    return this.end("waiting", "sending", { jobId: queued.value.jobId, runAt: retryAt });
  }

  private end(
    stoppedBecause: WorkerStopReason,
    status: BroadcastStatus | null,
    continuation: WorkerRunSummary["continuation"] = null,
  ): Result<WorkerRunSummary, BroadcastError> {
    const { broadcastId } = this.job;
    const batches = this.writesDone;
    this.deps.logger.debug({ stoppedBecause, batches, ...this.tally }, "send job run ended");
    this.span.setAttributes({
      "broadcastkit.job.stopped_because": stoppedBecause,
      "broadcastkit.job.writes": batches,
      "broadcastkit.messages.delivered": this.tally.delivered,
      "broadcastkit.messages.failed": this.tally.failed,
    });
    this.span.end();
    return ok({ broadcastId, stoppedBecause, status, batches, ...this.tally, continuation });
  }

  /** Ends the run with an error (the queue runs the job again). */
  private fail(error: BroadcastError): Result<WorkerRunSummary, BroadcastError> {
    this.span.end(error.type);
    return err(error);
  }

  /** Pauses the broadcast if it is still sending; ends with the status it is in. */
  private async pauseItself(reason: PauseReason): Promise<Result<WorkerRunSummary, BroadcastError>> {
    const { deps } = this;
    const { broadcastId } = this.job;
    const stoppedBecause: WorkerStopReason =
      reason.type === "content_refused" ? "content_refused" : "error_threshold";
    const paused = await runTransition(deps, broadcastId, { type: "pause", reason });
    if (paused.isOk()) {
      deps.emit({ type: "broadcast.paused", broadcastId, at: deps.clock.now(), reason });
      return this.end(stoppedBecause, paused.value.broadcast.status);
    }
    if (paused.error.type === "invalid_transition") return this.end(stoppedBecause, paused.error.from);
    return this.fail(paused.error);
  }

  /** Nobody is pending: settle on sent, completed or failed, unless someone else changed the status first. */
  private async settleBroadcast(): Promise<Result<WorkerRunSummary, BroadcastError>> {
    const { deps } = this;
    const { broadcastId } = this.job;
    const finished = await runTransition(deps, broadcastId, { type: "finish" });
    if (finished.isOk()) {
      const { broadcast } = finished.value;
      deps.logger.info(
        {
          broadcastId,
          status: broadcast.status,
          sentCount: broadcast.sentCount,
          failedCount: broadcast.failedCount,
        },
        "broadcast finished",
      );
      const completed = completedEvent(broadcast, broadcast.completedAt ?? deps.clock.now());
      if (completed !== null) deps.emit(completed);
      return this.end("finished", broadcast.status);
    }
    const failure = finished.error;
    if (failure.type === "not_found") return this.end("not_found", null);
    // Another worker finished it, or an admin paused or cancelled it meanwhile.
    if (failure.type === "invalid_transition" && failure.from !== "sending")
      return this.end("not_sending", failure.from);
    return this.fail(failure);
  }
}

/** What telemetry learns of one settled send. */
function settledInfo(
  broadcastId: number,
  outcome: RecipientOutcome | ContentRefusal,
  durationMs: number,
): SendSettledInfo {
  if (outcome.type === "content_refused") {
    return { broadcastId, outcome: "released", kind: "content", reason: outcome.description, durationMs };
  }
  if (outcome.type === "failed" || outcome.type === "retry") {
    return { broadcastId, outcome: outcome.type, kind: outcome.kind, reason: outcome.error, durationMs };
  }
  return { broadcastId, outcome: outcome.type, kind: null, reason: null, durationMs };
}
