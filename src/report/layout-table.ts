// The terminal table of `memcheck layout`. Pure.
import type { Analysis, Arch } from "../analysis/model.ts";

function pad(cells: string[][]): string {
  // A loop, not Math.max(...): spreading 100,000+ rows overflows the stack.
  const widths = cells[0].map(() => 0);
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i], c.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function resolutionRate(analysis: Analysis): { total: number; resolved: number; generic: number } {
  const concrete = analysis.structs.filter((s) => !s.generic);
  return {
    total: concrete.length,
    resolved: concrete.filter((s) => s.resolved).length,
    generic: analysis.structs.length - concrete.length,
  };
}

export function layoutTable(analysis: Analysis): string {
  const rows: string[][] = [["TYPE", "FILE", "ARCH", "SIZE", "ALIGN", "PAD", "PTR", "CLASS", "OPTIMAL", "DEPTH"]];
  const unresolved: string[] = [];
  for (const s of analysis.structs) {
    if (s.generic) continue;
    for (const arch of analysis.archs as Arch[]) {
      const l = s.layouts[arch];
      if (!l) continue;
      const saving = l.size - l.optimalSize;
      rows.push([
        `${s.name}`,
        `${s.file}:${s.line}`,
        arch,
        String(l.size),
        String(l.align),
        String(l.padding),
        String(l.ptrBytes),
        String(l.sizeClass),
        saving > 0 ? `${l.optimalSize} (-${saving})` : String(l.optimalSize),
        l.cyclic ? "cyclic" : String(l.pointerDepth),
      ]);
    }
    if (s.unresolved.length) unresolved.push(`  ${s.file}:${s.line} ${s.name}: ${s.unresolved.join(", ")}`);
  }
  const { total, resolved, generic } = resolutionRate(analysis);
  const parts = [rows.length > 1 ? pad(rows) : "No resolved structs."];
  if (unresolved.length) parts.push(`\nUnresolved (${unresolved.length}):\n${unresolved.join("\n")}`);
  if (analysis.diagnostics.length) {
    parts.push(
      `\nNotes (${analysis.diagnostics.length}):\n${analysis.diagnostics
        .slice(0, 50)
        .map((d) => `  ${d.file}${d.line ? `:${d.line}` : ""}: ${d.message}`)
        .join("\n")}`,
    );
  }
  const pct = total ? ((100 * resolved) / total).toFixed(1) : "100.0";
  parts.push(
    `\n${total} structs, ${resolved} resolved (${pct}%)${generic ? `, ${generic} generic` : ""}; ${analysis.stats.files} files, ${(analysis.stats.bytes / 1e6).toFixed(2)} MB`,
  );
  return parts.join("\n") + "\n";
}
