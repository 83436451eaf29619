// Population facts: what one file says about how many values of a type exist, collected during
// the file's one parse (parse.ts) and kept as plain data with the file. population.ts turns the
// facts of all files into a level per struct.
import { Query, type Node } from "web-tree-sitter";

export interface TypeRef {
  /** Package qualifier as written (`pb` in `pb.Order`); undefined for a package-local name. */
  pkg?: string;
  name: string;
}

export type PopulationFact =
  | { kind: "container"; ref: TypeRef; line: number; text: string; byPointer: boolean }
  | {
      kind: "alloc";
      ref: TypeRef;
      line: number;
      text: string;
      heap: boolean;
      loop: boolean;
      handler: boolean;
      pool: boolean;
      mainInit: boolean;
      packageLevel: boolean;
    }
  | { kind: "package-var"; ref: TypeRef; line: number; text: string };

/** Container evidence in this many distinct places makes a type "many" on its own. */
export const MANY_CONTAINER_PLACES = 3;
/** Facts kept per file, so a generated 100k-line file costs bounded memory. */
const MAX_FACTS_PER_FILE = 5_000;
/** Ancestors looked at above an allocation (loops, handlers, pools). */
const MAX_ANCESTORS = 64;

/**
 * Names of types that exist once per process or per configured item (configs, servers, clients,
 * registries, mocks): evidence of one value that outweighs containers and loops. A config in a
 * slice is one per configured job, not one per request.
 */
export const SINGLETON_NAME =
  /(Config|Configs|Cfg|Conf|Options|Opts|Settings|Params|Flags|Server|Service|Client|Manager|Controller|Exporter|Discovery|Registry|Provider|Factory|Builder|Plugin|Metrics|Mock|Fake|Stub|Command|Cmd|App|Module|Handler|Router)$/;

/** Parameter lists that make a function a request handler (net/http, gin, echo, fiber, fasthttp, gRPC). */
const HANDLER_PARAMS =
  /http\.ResponseWriter|\*http\.Request\b|\*gin\.Context\b|\becho\.Context\b|\*fiber\.Ctx\b|\*fasthttp\.RequestCtx\b|context\.Context\b[^)]*\*[\w.]*Request\b/;

const QUERY_SOURCE = `
(slice_type element: (_) @container)
(array_type element: (_) @container)
(implicit_length_array_type element: (_) @container)
(map_type value: (_) @container)
(channel_type value: (_) @container)
(composite_literal type: (_) @alloc)
(call_expression function: (identifier) @new-fn arguments: (argument_list . (_) @new-arg))
(source_file (var_declaration) @pkg-var)
`;

let query: Query | undefined;

function typeRefOf(node: Node | null, pointer?: { seen: boolean }): TypeRef | undefined {
  let n = node;
  for (let i = 0; n && i < 4; i++) {
    switch (n.type) {
      case "pointer_type":
        if (pointer) pointer.seen = true;
        n = n.namedChild(0);
        continue;
      case "parenthesized_type":
        n = n.namedChild(0);
        continue;
      case "generic_type":
        n = n.childForFieldName("type");
        continue;
      case "type_identifier":
      case "identifier":
        return { name: n.text };
      case "qualified_type": {
        const pkg = n.childForFieldName("package")?.text;
        const name = n.childForFieldName("name")?.text;
        return pkg && name ? { pkg, name } : undefined;
      }
      default:
        return undefined;
    }
  }
  return undefined;
}

function short(text: string): string {
  const one = text.replace(/\s+/g, " ");
  return one.length > 40 ? `${one.slice(0, 37)}…` : one;
}

const FUNCTION_NODES = new Set(["function_declaration", "method_declaration", "func_literal"]);

/** Where an allocation sits: in a loop, a handler, a sync.Pool's New, main/init, or at package level. */
function allocContext(node: Node) {
  let loop = false,
    handler = false,
    pool = false,
    mainInit = false,
    inFunction = false;
  let n = node.parent;
  for (let i = 0; n && i < MAX_ANCESTORS; i++, n = n.parent) {
    const t = n.type;
    if (t === "for_statement" && !inFunction) loop = true;
    else if (t === "composite_literal" && n.childForFieldName("type")?.text === "sync.Pool") pool = true;
    else if (FUNCTION_NODES.has(t)) {
      const params = n.childForFieldName("parameters")?.text ?? "";
      if (HANDLER_PARAMS.test(params)) handler = true;
      if (t === "function_declaration") {
        const name = n.childForFieldName("name")?.text;
        if ((name === "main" || name === "init") && !loop) mainInit = true;
      }
      // A loop outside the function a literal sits in does not repeat the allocation per iteration
      // of the literal's own body, but a closure created in a loop is still per item.
      inFunction = t !== "func_literal";
    }
  }
  return { loop, handler, pool, mainInit, packageLevel: !inFunction && !handler && !loop };
}

/** Population facts of one parsed file. Call with the tree still alive; returns plain data. */
export function populationFacts(root: Node): PopulationFact[] {
  query ??= new Query(root.tree.language, QUERY_SOURCE);
  const out: PopulationFact[] = [];
  let newFn = false;
  for (const c of query.captures(root)) {
    if (out.length >= MAX_FACTS_PER_FILE) break;
    const node = c.node;
    const line = node.startPosition.row + 1;
    switch (c.name) {
      case "container": {
        const pointer = { seen: false };
        const ref = typeRefOf(node, pointer);
        if (ref) out.push({ kind: "container", ref, line, text: short(node.parent?.text ?? node.text), byPointer: pointer.seen });
        break;
      }
      case "new-fn":
        newFn = node.text === "new";
        break;
      case "new-arg":
      case "alloc": {
        if (c.name === "new-arg" && !newFn) break;
        const ref = typeRefOf(node);
        if (!ref) break;
        const at = c.name === "alloc" ? node.parent : node.parent?.parent;
        if (!at) break;
        const heap = c.name !== "alloc" || node.parent?.parent?.type === "unary_expression";
        const text = c.name === "alloc" ? `${heap ? "&" : ""}${short(node.text)}{…}` : `new(${short(node.text)})`;
        out.push({ kind: "alloc", ref, line, text, heap, ...allocContext(at) });
        break;
      }
      case "pkg-var": {
        for (const spec of node.descendantsOfType("var_spec")) {
          const parent = spec?.parent;
          if (!spec || !parent || (parent.id !== node.id && parent.parent?.id !== node.id)) continue;
          const ref = typeRefOf(spec.childForFieldName("type"));
          if (ref) out.push({ kind: "package-var", ref, line: spec.startPosition.row + 1, text: short(spec.text) });
        }
        break;
      }
    }
  }
  return out;
}
