// Loads the pinned tree-sitter-go grammar once per process (or worker thread).
import { Parser, Language } from "web-tree-sitter";
import { readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./package-root.ts";

/** The package root (where package.json is), from src/analysis or dist/src/analysis alike. */
export { packageRoot };
export const grammarPath = path.join(packageRoot, "grammars", "tree-sitter-go.wasm");

let loading: Promise<Language> | undefined;
let language: Language | undefined;
let parser: Parser | undefined;

/** Initialise web-tree-sitter and load the Go grammar. Safe to call many times. */
export function loadGoGrammar(): Promise<Language> {
  loading ??= (async () => {
    await Parser.init();
    language = await Language.load(readFileSync(grammarPath));
    return language;
  })();
  return loading;
}

/** The shared parser; loadGoGrammar() must have resolved first. */
export function goParser(): Parser {
  if (!language) throw new Error("Go grammar not loaded: await loadGoGrammar() first");
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(language);
  }
  return parser;
}
