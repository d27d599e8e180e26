/** Starting, watching and stopping the demo's processes (plumbing of `run.ts`, not of the library). */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the first output line matching `pattern` (rejects if the process ends first). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** SIGTERM, then waits for the exit; true when it exited by itself with code 0. */
  stop(): Promise<boolean>;
}

/** Runs `examples/cluster/<file>` under tsx with `env` added, echoing its output. */
export function startProcess(
  name: string,
  file: string,
  env: Record<string, string>,
  args: string[] = [],
): Started {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", new URL(file, import.meta.url).pathname, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const watchers = new Set<(line: string) => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      console.log(line);
      for (const watch of watchers) watch(line);
    });
  }
  return {
    name,
    child,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const watch = (line: string) => {
          const match = pattern.exec(line);
          if (match === null) return;
          watchers.delete(watch);
          resolve(match);
        };
        watchers.add(watch);
        child.once("exit", (code, signal) => reject(new Error(`${name} ended (${signal ?? code}) first`)));
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode === 0;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      return code === 0;
    },
  };
}
