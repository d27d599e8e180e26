import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The core decides; it never reads the clock, draws random numbers or touches the outside world,
 * so every rule in it is a pure function that a test can pin down. dependency-cruiser checks the
 * import graph; this reads the code itself, which also catches globals (time, randomness, I/O)
 * that need no import at all.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CORE = join(ROOT, "src/core");
/** The only packages the core may use: validation, results, date arithmetic. */
const ALLOWED_PACKAGES = ["zod", "neverthrow", "date-fns"];
/** Globals through which code reaches time, randomness, the process or the network. */
const IMPURE_GLOBALS = new Set([
  "process",
  "performance",
  "crypto",
  "fetch",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "queueMicrotask",
  "console",
  "require",
]);

function sourceFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFilesUnder(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every impurity in one file's code (comments and strings are not code, so they never count). */
function impuritiesIn(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const at = (node: ts.Node) =>
    `${relative(ROOT, fileName)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;

  const checkSpecifier = (node: ts.Node, specifier: string) => {
    if (specifier.startsWith(".")) {
      const target = resolve(dirname(fileName), specifier);
      if (!target.startsWith(`${CORE}/`)) found.push(`${at(node)} imports ${specifier}, outside src/core`);
    } else if (!ALLOWED_PACKAGES.some((p) => specifier === p || specifier.startsWith(`${p}/`))) {
      found.push(`${at(node)} imports ${specifier}`);
    }
  };

  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) checkSpecifier(node, node.moduleSpecifier.text);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      found.push(`${at(node)} uses a dynamic import()`);
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) checkSpecifier(node, literal.text);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const name = `${node.expression.text}.${node.name.text}`;
      if (name === "Date.now" || name === "Math.random") found.push(`${at(node)} reads ${name}`);
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "Date") {
      if ((node.arguments?.length ?? 0) === 0) found.push(`${at(node)} reads the clock with new Date()`);
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "Date") {
      found.push(`${at(node)} reads the clock with Date()`);
    }
    if (ts.isIdentifier(node) && IMPURE_GLOBALS.has(node.text) && isGlobalReference(node)) {
      found.push(`${at(node)} uses the global ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** An identifier used as a value of its own, not a property name, a key or a declaration. */
function isGlobalReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isPropertyAssignment(parent) && parent.name === node) return false;
  if (ts.isPropertySignature(parent) || ts.isMethodSignature(parent) || ts.isMethodDeclaration(parent)) {
    return parent.name !== node;
  }
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (ts.isBindingElement(parent) || ts.isParameter(parent) || ts.isVariableDeclaration(parent)) return false;
  return true;
}

const coreFiles = sourceFilesUnder(CORE);

describe("src/core is pure", () => {
  it("has source files to check", () => {
    expect(coreFiles.map((f) => relative(CORE, f))).toEqual(
      expect.arrayContaining([
        "transitions.ts",
        "progress.ts",
        "retry-policy.ts",
        "outcome.ts",
        "schemas.ts",
      ]),
    );
  });

  it.each(coreFiles.map((f) => [relative(ROOT, f), f]))(
    "%s reads no clock, draws no random number, imports nothing outside the core but zod, neverthrow and date-fns",
    (_, file) => {
      expect(impuritiesIn(file, readFileSync(file, "utf8"))).toEqual([]);
    },
  );
});

describe("the purity check itself", () => {
  const inCore = join(CORE, "example.ts");

  it("catches each kind of impurity", () => {
    const code = [
      'import { readFileSync } from "node:fs";',
      'import type { BroadcastStore } from "../ports/store.js";',
      'export * from "../service/types.js";',
      'import pino from "pino";',
      "const a = Date.now();",
      "const b = new Date();",
      "const b2 = new Date;",
      "const c = Math.random();",
      "const d = process.env.TOKEN;",
      "const e = Date();",
      'const f = await import("./lazy.js");',
      "setTimeout(() => {}, 1);",
    ].join("\n");
    expect(impuritiesIn(inCore, code)).toHaveLength(12);
  });

  it("lets through what the core may do", () => {
    const code = [
      'import { z } from "zod";',
      'import { addMilliseconds } from "date-fns";',
      'import { ok } from "neverthrow";',
      'import type { Broadcast } from "./types.js";',
      "// Date.now() and Math.random() in a comment are not code",
      'const text = "new Date() in a string is not code either";',
      "const at = new Date(now.getTime() + 1);",
      "const copy = { process: 1, console: 2 };",
    ].join("\n");
    expect(impuritiesIn(inCore, code)).toEqual([]);
  });
});
