import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child !== undefined && child.exitCode === null) child.kill("SIGKILL");
});

/** Starts `npm run demo:serve`'s server on a free port; resolves with the dashboard URL it prints. */
async function startServer(): Promise<string> {
  child = spawn(process.execPath, ["--import", "tsx", "examples/dashboard-server.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0", ADMIN_PASSWORD: "pw" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (chunk) => {
    output += String(chunk);
  });
  return new Promise((resolve, reject) => {
    child?.stdout?.on("data", (chunk) => {
      output += String(chunk);
      const url = /broadcastkit dashboard: (http:\S+)/.exec(output)?.[1];
      if (url !== undefined) resolve(url);
    });
    child?.once("exit", (code) => reject(new Error(`demo server exited with ${code}: ${output}`)));
  });
}

describe("npm run demo:serve", () => {
  it("serves the dashboard on SQLite behind HTTP Basic, with broadcasts to look at, and stops on SIGTERM", async () => {
    const url = await startServer();
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm=/);

    const signedIn = await fetch(url, { headers: { authorization: `Basic ${btoa("admin:pw")}` } });
    expect(signedIn.status).toBe(200);
    const page = await signedIn.text();
    expect([...page.matchAll(/<tr data-broadcast=/g)]).toHaveLength(4);
    expect(page).toContain("Weekly digest for {{name}}");

    child?.kill("SIGTERM");
    const [code] = await once(child as ChildProcess, "exit");
    expect(code).toBe(0);
  }, 60_000);
});
