import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokenLinks, type PackageFiles } from "../support/markdown-links.js";

/**
 * The package as a user gets it: built, packed with `npm pack`, and installed from the tarball
 * into a project of its own that has only the runtime dependencies (linked from this repository's
 * node_modules, so no registry is needed) and none of the optional peers: no test runner, no
 * driver, no grammY, no Redis client.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const modules = realpathSync(join(root, "node_modules"));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

const RUNTIME_DEPENDENCIES = ["zod", "neverthrow", "date-fns", "standardwebhooks"];
const OPTIONAL_PEERS = ["vitest", "fast-check", "better-sqlite3", "pg", "ioredis", "bullmq", "grammy"];
/** Entry points with no peer of their own: each must load and type-check with none installed. */
const SELF_CONTAINED = [
  "broadcastkit",
  "broadcastkit/memory",
  "broadcastkit/http",
  "broadcastkit/telegram",
  "broadcastkit/testing",
  "broadcastkit/dashboard",
  "broadcastkit/webhooks",
];

let work = "";
let project = "";
let installed = "";

const newestIn = (path: string): number => {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestIn(join(path, name))));
};
const oldestIn = (path: string): number =>
  Math.min(...readdirSync(path).map((name) => statSync(join(path, name)).mtimeMs));

/** The build is slow on a busy machine: it runs only when dist/ is missing or older than what builds it. */
function distIsCurrent(): boolean {
  const dist = join(root, "dist");
  if (!existsSync(dist) || readdirSync(dist).length === 0) return false;
  const inputs = ["src", "package.json", "tsup.config.ts", "tsconfig.json"].map((path) =>
    newestIn(join(root, path)),
  );
  return oldestIn(dist) > Math.max(...inputs);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "broadcastkit-packed-"));
  if (!distIsCurrent()) await run("npm", ["run", "build"], { cwd: root });
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
    cwd: root,
  });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  project = join(work, "host");
  mkdirSync(project);
  const dependencies = Object.fromEntries(
    RUNTIME_DEPENDENCIES.map((name) => [name, `file:${join(modules, name)}`]),
  );
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "host", private: true, dependencies }));
  await run(
    "npm",
    [
      "install",
      join(work, filename),
      "--prefer-offline",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
    ],
    { cwd: project },
  );
  installed = join(project, "node_modules", "broadcastkit");
}, 180_000);

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

/** Runs a script with Node inside the host project; its last line of output is JSON. */
async function nodeIn(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, args, { cwd: project });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "null");
}

const esm = (script: string) => nodeIn(["--input-type=module", "-e", script]);
const cjs = (script: string) => nodeIn(["-e", script]);

describe("the packed package, installed without optional peers", () => {
  it("is installed with its runtime dependencies and none of the optional peers", async () => {
    expect(existsSync(join(installed, "package.json"))).toBe(true);
    const resolvable = await cjs(
      `console.log(JSON.stringify(${JSON.stringify(OPTIONAL_PEERS)}.filter((name) => {
        try { require.resolve(name); return true; } catch { return false; }
      })))`,
    );
    expect(resolvable).toEqual([]);
  });

  it("loads broadcastkit/testing with no test runner, as ESM and as CommonJS, and its fakes work", async () => {
    const use = (load: string) => `
      ${load}
      const clock = createManualClock("2030-01-01T00:00:00Z");
      clock.advance(1500);
      const api = createFakeBotApi({ clock });
      const response = await api.fetch("http://bot.test/bot1:a/sendMessage", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ chat_id: 42, text: "hi" }),
      });
      console.log(JSON.stringify({ now: clock.now().toISOString(), ok: (await response.json()).ok, calls: api.requests.length }));`;
    const expected = { now: "2030-01-01T00:00:01.500Z", ok: true, calls: 1 };
    expect(
      await esm(use(`import { createFakeBotApi, createManualClock } from "broadcastkit/testing";`)),
    ).toEqual(expected);
    expect(
      await cjs(
        `(async () => { ${use(`const { createFakeBotApi, createManualClock } = require("broadcastkit/testing");`)} })()`,
      ),
    ).toEqual(expected);
  });

  it("loads every entry point without a peer of its own, as ESM and as CommonJS", async () => {
    const entries = JSON.stringify(SELF_CONTAINED);
    const fromEsm = await esm(
      `const counts = []; for (const entry of ${entries}) counts.push(Object.keys(await import(entry)).length);
      console.log(JSON.stringify(counts))`,
    );
    const fromCjs = await cjs(
      `console.log(JSON.stringify(${entries}.map((entry) => Object.keys(require(entry)).length)))`,
    );
    expect(fromEsm).toHaveLength(SELF_CONTAINED.length);
    expect((fromEsm as number[]).every((count) => count > 0)).toBe(true);
    expect(fromCjs).toEqual(fromEsm);
  });

  it("signs webhooks with the installed standardwebhooks, as ESM and as CommonJS, verifiable by its Webhook", async () => {
    const script = (load: string) => `${load}
      const secret = "whsec_" + Buffer.alloc(32, 7).toString("base64");
      let sent;
      const transport = createWebhookTransport({ fetch: async (url, init) => { sent = init; return new Response(null, { status: 204 }); } });
      transport.post({ url: "http://127.0.0.1:1/", secret, messageId: "evt_1", timestamp: new Date(), body: "{}", timeoutMs: 1000 })
        .then((answer) => { new Webhook(secret).verify(sent.body, sent.headers); console.log(JSON.stringify(answer)); });`;
    const answered = { type: "answered", status: 204 };
    expect(
      await esm(
        script(
          'import { createWebhookTransport } from "broadcastkit/webhooks"; import { Webhook } from "standardwebhooks";',
        ),
      ),
    ).toEqual(answered);
    expect(
      await cjs(
        script(
          'const { createWebhookTransport } = require("broadcastkit/webhooks"); const { Webhook } = require("standardwebhooks");',
        ),
      ),
    ).toEqual(answered);
  });

  it("keeps the conformance suite, which needs vitest, behind broadcastkit/testing/conformance", async () => {
    const failure = await esm(
      `import("broadcastkit/testing/conformance").then(
        () => console.log(JSON.stringify("loaded")),
        (error) => console.log(JSON.stringify(error.message)))`,
    );
    expect(failure).toMatch(/vitest/);
  });
});

/** A strict compile reads all of @types/node: ~10 s on an idle 2-core machine, several times that on a busy one. */
const COMPILE_TIMEOUT_MS = 120_000;

describe("the packed broadcastkit/dashboard", () => {
  /** Serves the list page, then every file it links, with nothing but the installed package. */
  const serveFromPackage = (load: string) => `
    ${load}
    const { createBroadcastService } = require("broadcastkit");
    const { createMemoryQueue, createMemoryStore } = require("broadcastkit/memory");
    const service = createBroadcastService({ store: createMemoryStore(), queue: createMemoryQueue() });
    const dashboard = createDashboardHandler({ service, authorize: () => "allow" });
    const get = (path) => dashboard(new Request("http://host.test" + path));
    (async () => {
      const page = await get("/admin/broadcasts/");
      const html = await page.text();
      const files = [...html.matchAll(/(?:href|src)="([^"]*assets[^"]*)"/g)].map((m) => m[1]);
      const served = [];
      for (const file of files) {
        const answer = await get(file);
        const body = await answer.text();
        served.push({ file: file.split(".").pop(), status: answer.status, type: answer.headers.get("content-type"),
          bytes: body.length, uPlot: body.includes("uplot 1.6.32"), papaparse: body.includes("papaparse 5.7.1") });
      }
      console.log(JSON.stringify({ status: page.status, csp: page.headers.get("content-security-policy"), served }));
    })();`;

  it("serves its pages, script and stylesheet from the package itself, as ESM and as CommonJS", async () => {
    const fromCjs = (await cjs(
      serveFromPackage(`const { createDashboardHandler } = require("broadcastkit/dashboard");`),
    )) as {
      status: number;
      csp: string;
      served: {
        file: string;
        status: number;
        type: string;
        bytes: number;
        uPlot: boolean;
        papaparse: boolean;
      }[];
    };
    const fromEsm = await esm(
      `import { createRequire } from "node:module"; const require = createRequire(process.cwd() + "/");
      import { createDashboardHandler } from "broadcastkit/dashboard";
      ${serveFromPackage("")}`,
    );
    expect(fromCjs.status).toBe(200);
    expect(fromCjs.csp).toContain("script-src 'self'");
    const byKind = Object.fromEntries(fromCjs.served.map((file) => [file.file, file]));
    expect(byKind.js).toMatchObject({
      status: 200,
      type: "text/javascript; charset=utf-8",
      uPlot: true,
      papaparse: true,
    });
    expect(byKind.js?.bytes).toBeGreaterThan(50_000);
    expect(byKind.css).toMatchObject({ status: 200, type: "text/css; charset=utf-8" });
    expect(byKind.svg).toMatchObject({ status: 200, type: "image/svg+xml" });
    expect(fromEsm).toEqual(fromCjs);
  });
});

describe("the packed package's types, in a strict host (skipLibCheck: false)", () => {
  const compilerOptions = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    module: "NodeNext",
    moduleResolution: "NodeNext",
    target: "ES2022",
    lib: ["ES2022"],
    types: ["node"],
    typeRoots: [join(modules, "@types")],
  };

  /** The same host as an ES module and as CommonJS, so both the `.d.ts` and the `.d.cts` files are read. */
  function writeHost(name: string, imports: Record<string, string>, body: string): string[] {
    const esmImports = Object.entries(imports).map(([as, from]) => `import * as ${as} from "${from}";`);
    const cjsImports = Object.entries(imports).map(([as, from]) => `import ${as} = require("${from}");`);
    writeFileSync(join(project, `${name}.mts`), `${esmImports.join("\n")}\n${body}\n`);
    writeFileSync(join(project, `${name}.cts`), `${cjsImports.join("\n")}\n${body}\n`);
    return [`${name}.mts`, `${name}.cts`];
  }

  async function compile(config: string, files: string[], paths: Record<string, string[]> = {}) {
    writeFileSync(
      join(project, config),
      JSON.stringify({ compilerOptions: { ...compilerOptions, paths }, files }),
    );
    try {
      await run(process.execPath, [tsc, "-p", config], { cwd: project });
      return "";
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? error);
    }
  }

  /** Both compiles start at once (they take a while each) and each test reads its own. */
  let selfContainedCompile: Promise<string>;
  let sqlStoresCompile: Promise<string>;

  beforeAll(() => {
    const selfContained = writeHost(
      "host",
      {
        root: "broadcastkit",
        memory: "broadcastkit/memory",
        http: "broadcastkit/http",
        telegram: "broadcastkit/telegram",
        testing: "broadcastkit/testing",
        conformance: "broadcastkit/testing/conformance",
        dashboard: "broadcastkit/dashboard",
        webhooks: "broadcastkit/webhooks",
      },
      `
      const sender: root.MessageSender = telegram.createTelegramSender({ token: "1:a" });
      const store: root.BroadcastStore = memory.createMemoryStore();
      const queue = memory.createMemoryQueue();
      const service = root.createBroadcastService({ store, queue });
      export const handler: (request: Request) => Promise<Response> = http.createHttpHandler({ service });
      export const panel: (request: Request) => Promise<Response> = dashboard.createDashboardHandler({ service });
      export const clock: root.Clock = testing.createManualClock("2030-01-01T00:00:00Z");
      export const suite: typeof conformance.describeStoreConformance = conformance.describeStoreConformance;
      export const limiter = telegram.redisRateLimiter;
      export const transport: root.WebhookTransport = webhooks.createWebhookTransport();
      export const all = [sender, service, handler, panel, clock, suite, limiter, transport];`,
    );
    const sqlStores = writeHost(
      "host-sql",
      {
        sqlite: "broadcastkit/sqlite",
        postgres: "broadcastkit/postgres",
        bullmq: "broadcastkit/bullmq",
        otel: "broadcastkit/otel",
      },
      "export const all = [sqlite.createSqliteStore, postgres.createPostgresStore, bullmq.createBullmqQueue, otel.createOpenTelemetry];",
    );
    selfContainedCompile = compile("tsconfig.json", selfContained);
    sqlStoresCompile = compile("tsconfig.sql.json", sqlStores, {
      "better-sqlite3": [join(modules, "@types/better-sqlite3/index.d.ts")],
      pg: [join(modules, "@types/pg/index.d.ts")],
      bullmq: [join(modules, "bullmq/dist/esm/index.d.ts")],
      ioredis: [join(modules, "ioredis/built/index.d.ts")],
      "@opentelemetry/api": [join(modules, "@opentelemetry/api/build/src/index.d.ts")],
    });
  });

  it(
    "compiles a host importing every entry point but the SQL stores, with no optional peer installed",
    async () => {
      expect(await selfContainedCompile).toBe("");
    },
    COMPILE_TIMEOUT_MS,
  );

  it(
    "compiles a host importing the SQL stores, BullMQ and OpenTelemetry with only their drivers' types added",
    async () => {
      expect(await sqlStoresCompile).toBe("");
    },
    COMPILE_TIMEOUT_MS,
  );
});

describe("the packed README.md and docs/", () => {
  it("ship with a LICENSE (MIT)", () => {
    expect(readFileSync(join(installed, "LICENSE"), "utf8")).toMatch(/^MIT License/);
  });

  it("link only to files inside the installed package", () => {
    const files: PackageFiles = {
      has: (path) => existsSync(join(installed, path)),
      read: (path) => readFileSync(join(installed, path), "utf8"),
    };
    const markdown = ["README.md", ...readdirSync(join(installed, "docs")).map((name) => `docs/${name}`)];
    expect(markdown.flatMap((file) => brokenLinks(files, file))).toEqual([]);
  });
});
