/**
 * Template rendering on hostile input, and what a create with it costs the event loop.
 *
 * The review's template, `"{{a|" x 1000 + "}x{{b}}"` (4,007 characters), made the regular
 * expression rendering used before backtrack quadratically (~3.7 ms a render); create renders the
 * message once per recipient, so one 179 KB create request held the event loop for 14.7 s. The
 * same regular expression runs here as the "before" column.
 */

import { createMemoryQueue, createMemoryStore } from "../src/adapters/memory/index.js";
import { parseTemplate, renderParsedTemplate, renderTemplate } from "../src/core/template.js";
import { createBroadcastService, type NewRecipient } from "../src/index.js";
import { RECIPIENTS_PER_TURN } from "../src/service/event-loop.js";

/** Flat strings, as a parsed request body holds them (a concatenation is a rope until first read). */
const asParsed = (text: string): string => JSON.parse(JSON.stringify(text)) as string;
const HOSTILE = asParsed("{{a|".repeat(1000) + "}x{{b}}");
const ORDINARY = asParsed(
  "Hello, {{name|friend}}! Your order {{order}} ships on {{date}}. ".repeat(60).slice(0, 4000),
);
const BEFORE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^}]*))?\}\}/g;
const variables = { b: "x", name: "Ann", order: "A-1", date: "Monday" };

function renderBefore(text: string): string {
  return text.replace(BEFORE, (_m, name: string, fallback: string | undefined) =>
    Object.hasOwn(variables, name) ? String(variables[name as keyof typeof variables]) : (fallback ?? ""),
  );
}

/**
 * Microseconds per call: the median of 15 rounds of at least 30 ms each, so that a burst of
 * other work on this shared machine moves one round, not the figure.
 */
function microsPerCall(call: () => unknown): number {
  for (let i = 0; i < 500; i++) call();
  const rounds: number[] = [];
  for (let round = 0; round < 15; round++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < 30) {
      call();
      calls += 1;
      elapsed = performance.now() - start;
    }
    rounds.push((elapsed / calls) * 1000);
  }
  return rounds.sort((a, b) => a - b)[7] ?? Number.NaN;
}

/** The longest stretch, in ms, during which the event loop did not turn while `work` ran. */
async function longestBlockMs<T>(
  work: () => PromiseLike<T>,
): Promise<{ value: T; totalMs: number; blockMs: number }> {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const start = performance.now();
  const value = await work();
  const totalMs = performance.now() - start;
  running = false;
  longest = Math.max(longest, performance.now() - last);
  return { value, totalMs, blockMs: longest };
}

async function createWith(text: string, count: number) {
  const service = createBroadcastService({ store: createMemoryStore(), queue: createMemoryQueue() });
  const recipients: NewRecipient[] = Array.from({ length: count }, (_, i) => ({
    recipientId: i + 1,
    chatId: 1_000_000 + i,
    variables: { b: "x" },
  }));
  const measured = await longestBlockMs(() => service.create({ message: { text }, recipients }));
  measured.value._unsafeUnwrap();
  return measured;
}

const fmt = (n: number, digits = 1) => n.toLocaleString("en", { maximumFractionDigits: digits });

async function main() {
  console.log("\n## Templates (bench/template.ts)\n");
  console.log(
    "| template | length | render now | parsed once, per recipient (create) | regular expression before |",
  );
  console.log("| --- | --- | --- | --- | --- |");
  for (const [name, text] of [
    ["hostile (`{{a|` x 1000 + `}x{{b}}`)", HOSTILE],
    ["ordinary, 3 placeholders a line", ORDINARY],
  ] as const) {
    const now = microsPerCall(() => renderTemplate(text, variables));
    const parsed = parseTemplate(text);
    const perRecipient = microsPerCall(() => renderParsedTemplate(parsed, variables));
    const before = microsPerCall(() => renderBefore(text));
    console.log(
      `| ${name} | ${fmt(text.length, 0)} | ${fmt(now, 2)} µs | ${fmt(perRecipient, 2)} µs | ${fmt(before, 2)} µs |`,
    );
  }

  await createWith(HOSTILE, 4_000); // warms the create path up: the first runs are interpreted
  console.log("\n| create, memory store, hostile template | total | longest event-loop block |");
  console.log("| --- | --- | --- |");
  for (const count of [4_000, 100_000]) {
    const { totalMs, blockMs } = await createWith(HOSTILE, count);
    const label = count === 4_000 ? "4,000 recipients (the review's 179 KB request)" : "100,000 recipients";
    console.log(`| ${label} | ${fmt(totalMs, 0)} ms | ${fmt(blockMs, 1)} ms |`);
  }
  console.log(
    `\nChecks pause for the event loop every ${RECIPIENTS_PER_TURN.toLocaleString("en")} recipients; the longest` +
      " block left is the store's own insert of the checked list (the memory store takes an array in one go).",
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
