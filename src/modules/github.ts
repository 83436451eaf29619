// Private modules on the repository's own GitHub host, through the GitHub API with the
// installation token: the tag of a version (`sub/vX.Y.Z` for a module in a subdirectory), or the
// commit of a pseudo-version, downloaded as a zipball and rewritten as the module zip Go would
// make from that commit (golang.org/x/mod/zip's rules: the module's folder only, without nested
// modules, vendored packages or symlinks, and the repository's LICENSE when the module has none).
// The result is checked against go.sum like any other module zip.
import { ModuleFetchError } from "./loader.ts";
import { readModuleZip, writeZip, ZipError } from "./zip.ts";

/** The GitHub repository, subdirectory and git ref of a module version, or undefined when not on `host`. */
export function githubRef(
  host: string,
  mod: string,
  version: string,
): { owner: string; repo: string; dir: string; ref: string } | undefined {
  const parts = mod.split("/");
  if (parts[0] !== host || parts.length < 3) return undefined;
  const [, owner, repo, ...rest] = parts;
  // A major-version suffix (/v2) is part of the path, not a folder, when the module lives at the root.
  const last = rest[rest.length - 1];
  const dirParts = last && /^v\d+$/.test(last) && last !== "v0" && last !== "v1" ? rest.slice(0, -1) : rest;
  const dir = dirParts.join("/");
  const pseudo = /-(?:0\.)?\d{14}-([0-9a-f]{12})(?:\+incompatible)?$/.exec(version);
  const tag = version.replace(/\+incompatible$/, "");
  const ref = pseudo ? pseudo[1] : dir ? `${dir}/${tag}` : tag;
  return { owner, repo, dir, ref };
}

/** Go's isVendoredPackage: a file below vendor/<something>/ (vendor/modules.txt itself stays). */
function vendored(rel: string): boolean {
  const i = rel.startsWith("vendor/") ? 7 : rel.indexOf("/vendor/") >= 0 ? rel.indexOf("/vendor/") + 8 : -1;
  return i >= 0 && rel.slice(i).includes("/");
}

/** Rewrite a GitHub zipball as the module zip of mod@version (dir: the module's folder in the repository). */
export function moduleZipFromZipball(zipball: Buffer, mod: string, version: string, dir: string): Buffer {
  const first = zipball.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  let top: string;
  try {
    // GitHub names the top folder owner-repo-sha/; read it from the first central directory entry.
    if (first < 0) throw new ZipError("not a zip file");
    const nameLen = zipball.readUInt16LE(first + 28);
    const name = zipball.toString("utf8", first + 46, first + 46 + nameLen);
    top = name.slice(0, name.indexOf("/") + 1);
    if (!top) throw new ZipError("zipball has no top folder");
    const entries = readModuleZip(zipball, top, undefined, true);
    const base = dir ? `${top}${dir}/` : top;
    const inModule = entries.filter((e) => e.name.startsWith(base)).map((e) => ({ rel: e.name.slice(base.length), data: e.data }));
    const nested = inModule.filter((e) => e.rel.endsWith("/go.mod")).map((e) => e.rel.slice(0, -"go.mod".length));
    const kept = inModule.filter(
      (e) => !nested.some((n) => e.rel.startsWith(n)) && !vendored(e.rel) && !e.rel.split("/").some((s) => s === ".git" || s === ".hg"),
    );
    if (!kept.some((e) => e.rel === "go.mod"))
      throw new ModuleFetchError(`${mod}@${version}: no go.mod in ${dir || "the repository root"}`);
    if (dir && !kept.some((e) => e.rel === "LICENSE")) {
      const license = entries.find((e) => e.name === `${top}LICENSE`);
      if (license) kept.push({ rel: "LICENSE", data: license.data });
    }
    return writeZip(kept.map((e) => ({ name: `${mod}@${version}/${e.rel}`, data: e.data })));
  } catch (err) {
    if (err instanceof ZipError) throw new ModuleFetchError(`${mod}@${version}: GitHub archive refused: ${err.message}`);
    throw err;
  }
}
