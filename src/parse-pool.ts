// Parses files across worker threads when there is enough text to repay the start-up cost.
import { Worker } from "node:worker_threads";
import os from "node:os";
import type { AnalyzeOptions, SourceFile } from "./analysis/model.ts";
import type { FileDecls } from "./analysis/parse.ts";

/** Below this much text, one thread is faster than starting more. */
export const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;
const BATCH_BYTES = 512 * 1024;

export function defaultThreads(): number {
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
}

/** Parse files in `threads` workers; results come back in input order. */
export async function parseInWorkers(
  files: SourceFile[],
  options: AnalyzeOptions,
  threads: number,
  onProgress?: (done: number, total: number) => void,
): Promise<FileDecls[]> {
  const batches: SourceFile[][] = [];
  let current: SourceFile[] = [];
  let bytes = 0;
  for (const f of files) {
    current.push(f);
    bytes += f.text.length;
    if (bytes >= BATCH_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
  }
  if (current.length) batches.push(current);
  const results: FileDecls[][] = new Array(batches.length);
  const workers = Array.from({ length: Math.min(threads, batches.length) }, () =>
    new Worker(new URL("./parse-worker-boot.mjs", import.meta.url)),
  );
  let next = 0;
  let done = 0;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= batches.length) return resolve();
              const id = next++;
              w.postMessage({ id, files: batches[id], options });
            };
            w.on("message", (msg: { id: number; decls: FileDecls[] }) => {
              results[msg.id] = msg.decls;
              done += msg.decls.length;
              onProgress?.(done, files.length);
              send();
            });
            w.on("error", reject);
            w.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`parse worker exited with ${code}`))));
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.flat();
}
