import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A port nobody listens on right now (the kernel's choice), for a server of the test's own. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of the test's own, without persistence: killing it and starting it again on the
 * same port is a Redis restart that lost every key (queued jobs, locks, the job scheduler).
 */
export interface OwnRedis {
  readonly host: string;
  readonly port: number;
  /** Kills the server (SIGKILL) and waits `downMs` before starting it again on the same port. */
  restart(downMs: number): Promise<void>;
  /** Kills the server; safe to call twice. */
  stop(): Promise<void>;
}

function spawnRedis(port: number): { child: ChildProcess; ready: Promise<void>; exited: Promise<void> } {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // Never started (no redis-server on the PATH) counts as exited: the suite fails, it never skips.
  let spawnError: Error | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      spawnError = error;
      resolve();
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    const listen = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) resolve();
    };
    child.stdout?.on("data", listen);
    child.stderr?.on("data", listen);
    void exited.then(() => {
      const why = spawnError?.message ?? out;
      reject(new Error(`redis-server on port ${port} exited before it was ready: ${why}`));
    });
  });
  ready.catch(() => {});
  return { child, ready, exited };
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let current = spawnRedis(port);
  await current.ready;
  const kill = async () => {
    const running = current.child.exitCode === null && current.child.signalCode === null;
    if (running && current.child.pid !== undefined) current.child.kill("SIGKILL");
    await current.exited;
  };
  return {
    host: "127.0.0.1",
    port,
    async restart(downMs) {
      await kill();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      current = spawnRedis(port);
      await current.ready;
    },
    stop: kill,
  };
}
