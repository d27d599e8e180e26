import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { brokenLinks, headingAnchors, markdownLinks, type PackageFiles } from "../support/markdown-links.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A package made of the given files, for checking the checker. */
function filesOf(contents: Record<string, string>): PackageFiles {
  return {
    has: (path) => Object.keys(contents).some((file) => file === path || file.startsWith(`${path}/`)),
    read: (path) => contents[path] ?? "",
  };
}

describe("the link check", () => {
  it("reports links that leave the package, lead nowhere or name a missing heading", () => {
    const files = filesOf({
      "README.md": [
        "See [the contract](../shared/SPEC.md), [docs](docs/guide.md), [gone](docs/gone.md),",
        "[a heading](docs/guide.md#setup), [no heading](docs/guide.md#nope), [root](/etc/passwd)",
        "and [the web](https://example.com/x).",
      ].join("\n"),
      "docs/guide.md": "# Guide\n\n## Setup\n\n[back](../README.md) and [out](../../elsewhere.md)\n",
    });
    expect(brokenLinks(files, "README.md")).toEqual([
      "README.md:1 -> ../shared/SPEC.md: outside the package",
      "README.md:1 -> docs/gone.md: the package has no docs/gone.md",
      "README.md:2 -> docs/guide.md#nope: docs/guide.md has no heading #nope",
      "README.md:2 -> /etc/passwd: not a path inside the package",
    ]);
    expect(brokenLinks(files, "docs/guide.md")).toEqual([
      "docs/guide.md:5 -> ../../elsewhere.md: outside the package",
    ]);
  });

  it("follows reference definitions and HTML links, and ignores code", () => {
    const markdown = [
      "[ref]: missing.md",
      '<a href="also-missing.md">x</a>',
      "`[inline](not-a-link.md)`",
      "```md",
      "[fenced](not-a-link-either.md)",
      "```",
    ].join("\n");
    expect(markdownLinks(markdown).map((link) => link.target)).toEqual(["missing.md", "also-missing.md"]);
  });

  it("names headings as GitHub does", () => {
    expect(headingAnchors("# Telegram: `broadcastkit/telegram`\n## Retries\n## Retries\n")).toEqual(
      new Set(["telegram-broadcastkittelegram", "retries", "retries-1"]),
    );
  });
});

describe("README.md and docs/ link only to what the package ships", () => {
  let shipped: Set<string>;

  beforeAll(async () => {
    // npm's own answer to "what goes into the tarball" (files, .npmignore, README, LICENSE).
    const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: root,
    });
    const [pack] = JSON.parse(stdout) as [{ files: { path: string }[] }];
    shipped = new Set(pack.files.map((file) => file.path));
  });

  const markdownFiles = ["README.md", ...readdirSync(join(root, "docs")).map((name) => `docs/${name}`)];

  it("ships README.md, LICENSE and every file of docs/", () => {
    for (const file of [...markdownFiles, "LICENSE"]) expect(shipped).toContain(file);
  });

  it.each(markdownFiles)("%s: every link stays inside the package and leads to a file it ships", (file) => {
    const files: PackageFiles = {
      has: (path) =>
        shipped.has(path) || [...shipped].some((shippedFile) => shippedFile.startsWith(`${path}/`)),
      read: (path) => readFileSync(join(root, path), "utf8"),
    };
    expect(brokenLinks(files, file)).toEqual([]);
  });
});
