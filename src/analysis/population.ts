// How many values of each struct type live at once, as far as the code says: the evidence the fail
// policy needs, because a few bytes matter in proportion to the number of values that carry them.
//
// Two pure steps:
//   populationFacts(root, path)  during the one parse of a file (parse.ts): element types of
//                                slices, arrays, maps and channels (fields, vars, signatures,
//                                literals, make), allocations (`T{}`, `&T{}`, `new(T)`) with their
//                                context (loop, handler, sync.Pool New, main/init, package level),
//                                and package-level vars. Plain data, cached with the file.
//   populations(files, structs)  resolves those facts to struct keys, adds "held by value in a type
//                                that has many values" over the struct graph, and gives each struct
//                                a level: many, few (unknown) or one, with its evidence.
//
// Bodies are present only when the hazard rules run (the head side of a review); without them the
// facts come from declarations and signatures alone, which is weaker evidence, never wrong evidence.
import type { FileDecls, TypeExpr } from "./parse.ts";
import type { Population, PopulationEvidence, StructReport } from "./model.ts";
import { dirOf } from "./gopath.ts";
import { MANY_CONTAINER_PLACES, SINGLETON_NAME, type PopulationFact, type TypeRef } from "./population-facts.ts";

export { MANY_CONTAINER_PLACES, type PopulationFact, type TypeRef } from "./population-facts.ts";
/** Files with their facts, as parse.ts returns them. */
type FactFile = Pick<FileDecls, "path" | "imports" | "types"> & { population?: PopulationFact[] };

function lastSegment(importPath: string): string {
  const parts = importPath.split("/");
  let last = parts[parts.length - 1];
  if (/^v\d+$/.test(last) && parts.length > 1) last = parts[parts.length - 2];
  return last
    .replace(/\.v\d+$/, "")
    .replace(/^go-/, "")
    .replace(/-go$/, "")
    .replace(/[-.]/g, "_");
}

interface Acc {
  containers: Map<string, PopulationEvidence>;
  /** Places where the container holds the values themselves (`[]T`, not `[]*T`). */
  byValuePlaces: number;
  strong: PopulationEvidence[];
  one: PopulationEvidence[];
  held: PopulationEvidence[];
}

const EVIDENCE_SHOWN = 4;

/**
 * A level per struct key (`${package}.${name}`), with the evidence that decided it. `hot` names
 * types marked hot in the config (`Name` or `pkg.Name`); `//memcheck:hot` on a struct counts too.
 */
export function populations(files: FactFile[], structs: StructReport[], hot: readonly string[] = []): Map<string, Population> {
  const keyOf = (s: Pick<StructReport, "package" | "name">) => `${s.package}.${s.name}`;
  const byKey = new Map<string, StructReport>();
  const packageOfDir = new Map<string, string>();
  for (const s of structs) {
    byKey.set(keyOf(s), s);
    packageOfDir.set(s.dir, s.package);
  }
  const acc = new Map<string, Acc>();
  const accOf = (key: string): Acc => {
    let a = acc.get(key);
    if (!a) {
      a = { containers: new Map(), byValuePlaces: 0, strong: [], one: [], held: [] };
      acc.set(key, a);
    }
    return a;
  };

  // Held by value: holder key -> held keys (fields of a named struct type or an array of one).
  const heldBy = new Map<string, { key: string; file: string; line: number; holderName: string; how: string }[]>();

  for (const f of files) {
    const dir = dirOf(f.path);
    const pkg = packageOfDir.get(dir);
    if (!pkg) continue;
    const imports = new Map<string, string>();
    for (const i of f.imports) {
      if (i.name === "_" || i.name === ".") continue;
      imports.set(i.name ?? lastSegment(i.path), i.path);
    }
    const resolve = (ref: TypeRef): string | undefined => {
      const key = ref.pkg ? (imports.has(ref.pkg) ? `${imports.get(ref.pkg)}.${ref.name}` : undefined) : `${pkg}.${ref.name}`;
      return key && byKey.has(key) ? key : undefined;
    };
    for (const fact of f.population ?? []) {
      const key = resolve(fact.ref);
      if (!key) continue;
      const a = accOf(key);
      const ev = (kind: PopulationEvidence["kind"], text: string): PopulationEvidence => ({ kind, text, file: f.path, line: fact.line });
      if (fact.kind === "container") {
        const place = `${f.path}:${fact.line}`;
        if (!fact.byPointer && !a.containers.has(place)) a.byValuePlaces++;
        if (!a.containers.has(place)) a.containers.set(place, ev("container", `\`${fact.text}\``));
      } else if (fact.kind === "package-var") {
        a.one.push(ev("package-var", `package-level \`var ${fact.text}\``));
      } else if (fact.pool) {
        a.strong.push(ev("pool", `pooled (\`sync.Pool\` New returns \`${fact.text}\`)`));
      } else if (!fact.heap && (fact.handler || fact.loop)) {
        // A value literal in a loop or handler usually stays on the stack: no allocator size class.
      } else if (fact.handler) {
        a.strong.push(ev("handler", `allocated per request (\`${fact.text}\` in a handler)`));
      } else if (fact.loop) {
        a.strong.push(ev("loop", `allocated in a loop (\`${fact.text}\`)`));
      } else if (fact.mainInit) {
        a.one.push(ev("main-init", `constructed once in main/init (\`${fact.text}\`)`));
      } else if (fact.packageLevel) {
        a.one.push(ev("package-var", `package-level \`${fact.text}\``));
      }
    }
    for (const t of f.types) {
      if (t.type.k !== "struct") continue;
      const holder = `${pkg}.${t.name}`;
      for (const field of t.type.fields) {
        const held = heldRef(field.type);
        const key = held && resolve(held.ref);
        if (!key || key === holder) continue;
        let list = heldBy.get(holder);
        if (!list) {
          list = [];
          heldBy.set(holder, list);
        }
        list.push({ key, file: f.path, line: field.line, holderName: t.name, how: held.how });
      }
    }
  }

  const out = new Map<string, Population>();
  const hotNames = new Set(hot);
  for (const [key, s] of byKey) {
    const a = acc.get(key);
    const evidence: PopulationEvidence[] = [];
    const isHot =
      s.source?.directives.includes("hot") ||
      hotNames.has(s.name) ||
      hotNames.has(key) ||
      hotNames.has(`${lastSegment(s.package)}.${s.name}`);
    if (isHot) {
      evidence.push({
        kind: "hot",
        text: s.source?.directives.includes("hot") ? "marked `//memcheck:hot`" : "listed in `hot:` in .github/memcheck.yml",
        file: s.file,
        line: s.line,
      });
      out.set(key, { level: "many", evidence });
      continue;
    }
    const singletonName = SINGLETON_NAME.test(s.name);
    const containers = a ? [...a.containers.values()] : [];
    const strong = a?.strong ?? [];
    const perRequest = strong.filter((e) => e.kind === "pool" || e.kind === "handler");
    if (singletonName) {
      // Per-request or pooled allocation outweighs the name; a container or a loop does not.
      if (perRequest.length) out.set(key, { level: "many", evidence: perRequest.slice(0, EVIDENCE_SHOWN) });
      else
        out.set(key, {
          level: "one",
          evidence: [
            { kind: "singleton-name", text: `\`${s.name}\` names a per-process or per-configured-item type`, file: s.file, line: s.line },
            ...(a?.one ?? []).slice(0, 2),
          ],
        });
      continue;
    }
    // Containers alone: in enough places, and at least one holding the values themselves (a few
    // long-lived objects, such as memtables or shards, are passed around in []*T everywhere).
    if (strong.length || (containers.length >= MANY_CONTAINER_PLACES && (a?.byValuePlaces ?? 0) > 0)) {
      out.set(key, { level: "many", evidence: [...strong, ...containerSummary(containers)].slice(0, EVIDENCE_SHOWN) });
      continue;
    }
    if (a?.one.length) {
      out.set(key, { level: "one", evidence: a.one.slice(0, EVIDENCE_SHOWN) });
      continue;
    }
    out.set(key, { level: "few", evidence: containerSummary(containers) });
  }

  // A type held by value in a type with many values has as many values.
  const queue = [...out.entries()].filter(([, p]) => p.level === "many").map(([k]) => k);
  for (let i = 0; i < queue.length && i < 100_000; i++) {
    const holder = queue[i];
    for (const h of heldBy.get(holder) ?? []) {
      const p = out.get(h.key);
      if (!p || p.level === "many") continue;
      if (p.evidence.some((e) => e.kind === "singleton-name")) continue;
      const held: PopulationEvidence = {
        kind: "held",
        text: `held in \`${h.holderName}\` (${h.how}), which has many values`,
        file: h.file,
        line: h.line,
      };
      out.set(h.key, { level: "many", evidence: [held, ...p.evidence].slice(0, EVIDENCE_SHOWN) });
      queue.push(h.key);
    }
  }
  return out;
}

/** Container places summed up as one item ("`[]Order` in 4 places") followed by the first place. */
function containerSummary(containers: PopulationEvidence[]): PopulationEvidence[] {
  if (containers.length === 0) return [];
  const first = containers[0];
  if (containers.length === 1) return [first];
  return [
    {
      ...first,
      text: `${first.text} and ${containers.length - 1} more container type${containers.length > 2 ? "s" : ""} (${containers.length} places)`,
    },
  ];
}

/**
 * The struct a field holds values of: by value, or as the elements of its own slice, array or map
 * (each holder has its own). A plain pointer field is left out: many holders often share one target.
 */
function heldRef(t: TypeExpr, inContainer = false): { ref: TypeRef; how: string } | undefined {
  switch (t.k) {
    case "name":
      return { ref: { name: t.name }, how: inContainer ? "as elements" : "by value" };
    case "qual":
      return { ref: { pkg: t.pkg, name: t.name }, how: inContainer ? "as elements" : "by value" };
    case "generic":
      return heldRef(t.base, inContainer);
    case "array":
      return heldRef(t.elem, true);
    case "slice":
      return heldRef(t.elem.k === "ptr" ? t.elem.elem : t.elem, true);
    case "map":
      return heldRef(t.value.k === "ptr" ? t.value.elem : t.value, true);
    default:
      return undefined;
  }
}

/** One line for a report: "many: `[]Order` in 4 places; allocated per request (handlers.go:40)". */
export function describePopulation(p: Population): string {
  const items = p.evidence.map((e) => `${e.text} (${e.file}:${e.line})`);
  return items.length ? items.join("; ") : "no evidence of how many values exist";
}
