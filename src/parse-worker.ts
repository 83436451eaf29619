// A worker thread that parses files: one tree-sitter parser per thread.
import { parentPort } from "node:worker_threads";
import { loadGoGrammar } from "./analysis/grammar.ts";
import { parseSource } from "./analysis/index.ts";
import { hazardCollector } from "./hazards.ts";
import type { AnalyzeOptions, SourceFile } from "./analysis/model.ts";

interface Request {
  files: SourceFile[];
  options: AnalyzeOptions;
}

await loadGoGrammar();
parentPort!.postMessage({ ready: true });
parentPort!.on("message", async (req: Request) => {
  const hazards = req.options.rules ? await hazardCollector() : undefined;
  const decls = req.files.map((f) => parseSource(f, req.options, hazards));
  parentPort!.postMessage({ decls });
});
