import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createBroadcastService } from "broadcastkit";
import { createHttpHandler, type HttpHandler } from "broadcastkit/http";
import { createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import type { Hono } from "hono";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const doc = readFileSync(join(root, "docs", "http.md"), "utf8");
const snippets = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
// Inside test/ so that `broadcastkit/*` and the devDependencies resolve as they do for every test.
const dir = mkdtempSync(join(root, "test", "docs", ".http-snippets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the snippets take from the reader's own code, declared for the compiler. */
const AMBIENT = `
declare const store: import("broadcastkit").BroadcastStore;
declare const queue: import("broadcastkit").JobQueue;
declare const handler: import("broadcastkit/http").HttpHandler;
declare function isAdmin(request: Request): boolean;
declare module "@/lib/broadcasts" {
  export const service: import("broadcastkit").BroadcastService;
}
declare module "@/lib/auth" {
  export const authorizeAdmin: import("broadcastkit/http").Authorize;
}
`;

describe("docs/http.md", () => {
  it("has TypeScript snippets, and every one type-checks under the project's strict settings", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(4);
    const ambient = join(dir, "ambient.d.ts");
    writeFileSync(ambient, AMBIENT);
    const files = snippets.map((code, index) => {
      const file = join(dir, `snippet-${index}.ts`);
      // Each snippet is a module of its own, so the names of one do not clash with another's.
      writeFileSync(file, `${code}\nexport {};\n`);
      return file;
    });
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, "tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: () => {},
      },
    );
    if (config === undefined) throw new Error("tsconfig.json did not parse");
    const program = ts.createProgram({ rootNames: [ambient, ...files], options: config.options });

    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || d.file.fileName.startsWith(dir))
      .map((d) => {
        const where = d.file === undefined ? "" : `${d.file.fileName.slice(dir.length + 1)}: `;
        return `${where}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    expect(problems).toEqual([]);
  }, 60_000);

  describe("its Hono snippets", () => {
    const hono = snippets.filter((code) => code.includes('from "hono"'));

    it("show both ways to mount the handler", () => {
      expect(hono.map((code) => code.includes("mount("))).toEqual([false, true]);
    });

    it.each(hono.map((code, index) => [index, code] as const))(
      "snippet %i mounts it so that the Location of a new broadcast can be followed",
      async (index, code) => {
        const service = createBroadcastService({ store: createMemoryStore(), queue: createMemoryQueue() });
        const handler: HttpHandler = createHttpHandler({ service, authorize: () => "allow" });
        const file = join(dir, `hono-${index}.ts`);
        const global = "globalThis as unknown as { snippetHandler: unknown }";
        writeFileSync(file, `const handler = (${global}).snippetHandler as never;\n${code}`);
        (globalThis as unknown as { snippetHandler: unknown }).snippetHandler = handler;
        const app = ((await import(file)) as { default: Hono }).default;

        const created = await app.request("/api/admin/broadcasts/", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message: "Hi", recipients: [{ recipient_id: 1, chat_id: 1 }] }),
        });

        expect(created.status).toBe(201);
        const location = created.headers.get("location") ?? "";
        expect(location).toBe(`/api/admin/broadcasts/${(await created.json()).data.id}/`);
        expect((await app.request(location)).status).toBe(200);
      },
    );
  });
});
