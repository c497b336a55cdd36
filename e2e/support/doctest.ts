// Docs are tests: the fenced command blocks of a Markdown file, extracted in
// order, each tagged in its info string as run (`sh doctest`) or not run with
// the reason (`sh doctest-skip: <why>`). An untagged command block is an error,
// so a new command in the docs cannot go untested by accident. The tested
// blocks of a file run in one bash script (aliases and variables carry from
// block to block, as in the reader's shell), after documented substitutions.
// Pure text handling here; docs.e2e.ts runs the scripts.

/** Info-string languages that mean "type this into a shell". */
export const COMMAND_LANGS = ["sh", "bash", "shell", "console", "zsh"];

export type Tag = { kind: "test" } | { kind: "skip"; reason: string } | { kind: "untagged" };

export interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  tag: Tag;
  body: string;
}

export interface Substitution {
  /** Literal text in the docs. */
  from: string;
  /** What the harness runs instead. */
  to: string;
  /** Why it differs here (documented in docs/development.md). */
  why: string;
}

/** Parses a fence's info string: `sh doctest`, `sh doctest-skip: reason`, anything else is untagged. */
export function parseTag(info: string): Tag {
  const rest = info.trim().split(/\s+/).slice(1).join(" ");
  if (rest === "doctest") return { kind: "test" };
  const skip = /^doctest-skip:\s*(.*)$/.exec(rest);
  if (skip) return { kind: "skip", reason: skip[1]!.trim() };
  return { kind: "untagged" };
}

/** The command blocks of a Markdown text (other fenced blocks — yaml, text, no language — are not commands). */
export function extractBlocks(file: string, markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      const close = new RegExp(`^\\s*${fence![0] === "`" ? "`" : "~"}{${fence!.length},}\\s*$`).exec(lines[i]!);
      if (close) break;
      body.push(lines[i]!.startsWith(indent!) ? lines[i]!.slice(indent!.length) : lines[i]!);
    }
    const lang = info!.trim().split(/\s+/)[0] ?? "";
    if (!COMMAND_LANGS.includes(lang)) continue;
    blocks.push({ file, line: start + 1, lang, tag: parseTag(info!), body: body.join("\n") });
  }
  return blocks;
}

/** What is wrong with the tags: untagged command blocks and skips without a reason. */
export function tagErrors(blocks: Block[]): string[] {
  const errors: string[] = [];
  for (const b of blocks) {
    if (b.tag.kind === "untagged") errors.push(`${b.file}:${b.line}: command block is not tagged (\`${b.lang} doctest\` or \`${b.lang} doctest-skip: <reason>\`)`);
    if (b.tag.kind === "skip" && b.tag.reason === "") errors.push(`${b.file}:${b.line}: doctest-skip needs a reason`);
  }
  return errors;
}

export const MARKER = "### doctest block ";

/**
 * One bash script of the tested blocks, in order: errexit and pipefail (a
 * failing command fails its block), aliases expanded as in an interactive
 * shell, and a marker on stderr before each block so a failure names it.
 * Returns the script and which substitutions were used.
 */
export function buildScript(blocks: Block[], substitutions: Substitution[]): { script: string; used: Set<Substitution> } {
  const used = new Set<Substitution>();
  const parts = ["set -euo pipefail", "shopt -s expand_aliases"];
  for (const b of blocks) {
    if (b.tag.kind !== "test") continue;
    let body = b.body;
    for (const s of substitutions) {
      if (!body.includes(s.from)) continue;
      used.add(s);
      body = body.replaceAll(s.from, s.to);
    }
    parts.push(`echo ${shellQuote(`${MARKER}${b.file}:${b.line}`)} >&2`, body);
  }
  return { script: parts.join("\n") + "\n", used };
}

/** The block a failed script was in: the last marker on its stderr. */
export function failedBlock(stderr: string): string | undefined {
  const marks = stderr.split("\n").filter((l) => l.startsWith(MARKER));
  return marks.at(-1)?.slice(MARKER.length);
}

export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
