import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ReceiverAnswer,
  startWebhookReceiver,
  type WebhookReceiver,
  waitFor,
  webhookSecret,
} from "../support/webhook-receiver.js";

/**
 * Real processes, a real SIGKILL and a real receiver on 127.0.0.1: a host
 * (test/service/fixtures/webhook-kit-process.ts) stores a status change and dies before its webhook
 * is delivered; a fresh process set up the same way delivers it, from the outbox in the store.
 */

const HOST = fileURLToPath(new URL("./fixtures/webhook-kit-process.ts", import.meta.url));
const SECRET = webhookSecret(8);

interface Host {
  readonly child: ChildProcess;
  /** The number the host printed after `committed` or `ready`. */
  readonly said: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startHost(database: string, url: string, mode: string): Host {
  const child = spawn(process.execPath, ["--import", "tsx", HOST, database, url, SECRET, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const said = new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /(?:committed|ready) (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`host exited (${code}) before it said anything`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, said, exited };
}

describe("a host killed between a status change and its webhook (SQLite, real processes)", () => {
  let directory = "";
  let receiver: WebhookReceiver | null = null;
  const running: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of running) child.kill("SIGKILL");
    running.length = 0;
    await receiver?.close();
    receiver = null;
    rmSync(directory, { recursive: true, force: true });
  });

  async function setUp(answer: (index: number) => ReceiverAnswer): Promise<string> {
    directory = mkdtempSync(join(tmpdir(), "bk-webhooks-"));
    receiver = await startWebhookReceiver(answer);
    return join(directory, "broadcasts.db");
  }

  const verifiedTypes = (id: number) =>
    receiver!
      .verified(SECRET)
      .filter((v) => v.payload.data.broadcast_id === id)
      .map((v) => v.payload.type);

  it("SIGKILL right after the start is stored: no webhook left, and the next process delivers it", async () => {
    const database = await setUp(() => 204);
    const first = startHost(database, receiver!.url, "start-quiet");
    running.push(first.child);
    const id = await first.said;
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(receiver!.received).toEqual([]);

    const second = startHost(database, receiver!.url, "serve");
    running.push(second.child);
    await second.said;
    await waitFor(() => verifiedTypes(id).includes("broadcast.sent"));
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);

    expect(verifiedTypes(id)).toEqual(["broadcast.started", "broadcast.sent"]);
    expect(receiver!.received.every((r) => r.status === 204)).toBe(true);
  });

  it("SIGKILL while the endpoint holds the request: the next process sends it again, same webhook-id, accepted once", async () => {
    let victim: ChildProcess | null = null;
    const database = await setUp((index) => {
      if (index > 0) return 204;
      victim?.kill("SIGKILL");
      return "hang";
    });
    const first = startHost(database, receiver!.url, "start");
    victim = first.child;
    running.push(first.child);
    expect((await first.exited).signal).toBe("SIGKILL");
    const [held] = receiver!.received;
    expect(held?.status).toBeNull();

    const second = startHost(database, receiver!.url, "serve");
    running.push(second.child);
    await second.said;
    await waitFor(() =>
      receiver!.received.some(
        (r) => r.status === 204 && r.headers["webhook-id"] === held?.headers["webhook-id"],
      ),
    );
    second.child.kill("SIGTERM");
    await second.exited;

    const sameEvent = receiver!.received.filter(
      (r) => r.headers["webhook-id"] === held?.headers["webhook-id"],
    );
    expect(sameEvent.map((r) => r.status)).toEqual([null, 204]);
    expect(receiver!.verified(SECRET).filter((v) => v.id === held?.headers["webhook-id"])).toHaveLength(2);
  });
});
