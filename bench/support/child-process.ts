import { type ChildProcess, fork } from "node:child_process";
import type { z } from "zod";

/**
 * Starts a TypeScript module in a child process (through tsx, as `npm run bench` runs), with an
 * IPC channel. `args` reach it as `process.argv.slice(2)`.
 */
export function forkTypeScript(module: URL, args: readonly string[] = []): ChildProcess {
  return fork(module, [...args], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/** The child's next message that `schema` accepts; rejects if the child exits first. */
export function nextMessage<T>(child: ChildProcess, schema: z.ZodType<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const parsed = schema.safeParse(message);
      if (!parsed.success) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(parsed.data);
    };
    const onExit = (code: number | null) => {
      child.off("message", onMessage);
      reject(new Error(`child process exited (code ${code}) before answering`));
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Resolves once the child has exited. */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}
