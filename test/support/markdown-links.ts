import { dirname, isAbsolute, join, normalize } from "node:path/posix";

/** A link written in a Markdown file, outside code. */
export interface MarkdownLink {
  readonly target: string;
  readonly line: number;
}

/** Fenced code blocks blanked, lines kept (so line numbers still point at the source). */
function withoutFences(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split("\n")
    .map((line) => {
      const opening = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === null) {
        if (opening === undefined) return line;
        fence = opening.slice(0, 3);
        return "";
      }
      if (line.trimStart().startsWith(fence)) fence = null;
      return "";
    })
    .join("\n");
}

/** Code is shown, not followed: fenced blocks and inline code spans are blanked. */
const withoutCode = (markdown: string): string =>
  withoutFences(markdown)
    .split("\n")
    .map((line) => line.replace(/(`+)[\s\S]*?\1/g, ""))
    .join("\n");

const LINK_PATTERNS = [
  /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g, // [text](target "title"), ![alt](target)
  /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm, // [id]: target
  /\b(?:href|src)\s*=\s*"([^"]+)"/g, // <a href="…">, <img src="…">
  /<((?:https?|mailto):[^>\s]+)>/g, // <https://…>
];

export function markdownLinks(markdown: string): MarkdownLink[] {
  const text = withoutCode(markdown);
  const links: MarkdownLink[] = [];
  for (const pattern of LINK_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const target = match[1] ?? "";
      const line = text.slice(0, match.index).split("\n").length;
      links.push({ target, line });
    }
  }
  return links.sort((a, b) => a.line - b.line);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split("\n")) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .replace(/`([^`]*)`/g, "$1")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** What a link check needs of the package: which paths it holds, and the text of its Markdown files. */
export interface PackageFiles {
  /** A file or directory path relative to the package root, with `/` separators. */
  has(path: string): boolean;
  read(path: string): string;
}

const EXTERNAL = /^(?:https?|mailto):/i;

/**
 * Every link of `file` (a path inside the package) that a reader of the installed package could
 * not follow: one leaving the package, one to a path the package does not hold, or one to a
 * heading its target does not have. Web links are not fetched.
 */
export function brokenLinks(files: PackageFiles, file: string): string[] {
  const problems: string[] = [];
  for (const { target, line } of markdownLinks(files.read(file))) {
    if (EXTERNAL.test(target)) continue;
    const at = `${file}:${line} -> ${target}`;
    const [pathPart = "", anchor] = target.split("#", 2);
    if (/^[a-z][a-z0-9+.-]*:/i.test(pathPart) || isAbsolute(pathPart)) {
      problems.push(`${at}: not a path inside the package`);
      continue;
    }
    const path = pathPart === "" ? file : normalize(join(dirname(file), decodeURI(pathPart)));
    const inside = path.replace(/\/$/, "");
    if (inside === ".." || inside.startsWith("../")) {
      problems.push(`${at}: outside the package`);
      continue;
    }
    if (!files.has(inside)) {
      problems.push(`${at}: the package has no ${inside}`);
      continue;
    }
    if (anchor !== undefined && inside.endsWith(".md") && !headingAnchors(files.read(inside)).has(anchor)) {
      problems.push(`${at}: ${inside} has no heading #${anchor}`);
    }
  }
  return problems;
}
