// A fixture world of Go modules for the module-resolution tests: module sources written to a
// folder laid out as a GOPROXY (`<escaped path>/@v/list|V.info|V.mod|V.zip`), which the Go toolchain
// itself reads with GOPROXY=file://, GOSUMDB=off, GOFLAGS=-mod=mod, so both sides resolve the same
// module versions offline.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { escapeModulePath } from "../src/analysis/gopath.ts";

/** A minimal zip writer (deflate, or stored when `stored`), enough for module zips. */
export function makeZip(entries: { name: string; data: Buffer | string; stored?: boolean; mode?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data);
    const body = e.stored ? data : deflateRawSync(data);
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(e.stored ? 0 : 8, 8);
    local.writeUInt32LE(crc32(data) >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(e.stored ? 0 : 8, 10);
    central.writeUInt32LE(crc32(data) >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface FixtureModule {
  path: string;
  version: string;
  files: Record<string, string>;
}

/** Writes modules as a GOPROXY folder and returns its root. */
export function writeProxy(root: string, modules: FixtureModule[]): string {
  const versions = new Map<string, string[]>();
  for (const m of modules) {
    const dir = join(root, escapeModulePath(m.path), "@v");
    mkdirSync(dir, { recursive: true });
    const v = escapeModulePath(m.version);
    const goMod = m.files["go.mod"] ?? `module ${m.path}\n`;
    writeFileSync(join(dir, `${v}.mod`), goMod);
    writeFileSync(join(dir, `${v}.info`), JSON.stringify({ Version: m.version, Time: "2024-01-01T00:00:00Z" }));
    const prefix = `${m.path}@${m.version}/`;
    const entries = Object.entries({ ...m.files, "go.mod": goMod }).map(([name, data]) => ({ name: prefix + name, data }));
    writeFileSync(join(dir, `${v}.zip`), makeZip(entries));
    versions.set(dir, [...(versions.get(dir) ?? []), m.version]);
  }
  for (const [dir, list] of versions) writeFileSync(join(dir, "list"), `${list.join("\n")}\n`);
  return root;
}

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  process.on("exit", () => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The Go toolchain's environment for a fixture world: offline, file:// proxy, its own module cache. */
export function worldGoEnv(proxy: string, modCache: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPROXY: `file://${proxy}`,
    GOSUMDB: "off",
    GOFLAGS: "-mod=mod",
    GOMODCACHE: modCache,
    GOWORK: "off",
    CGO_ENABLED: "0",
    GOTOOLCHAIN: "local",
    GONOSUMDB: "",
    GOPRIVATE: "",
    GONOPROXY: "",
    ...extra,
  };
}

export function go(args: string[], cwd: string, env: NodeJS.ProcessEnv, goBin = "go"): string {
  return execFileSync(goBin, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The newest Go installed beside Debian's default (/usr/lib/go-1.NN), else `go` when present. */
export function newestGo(): string | undefined {
  for (let minor = 40; minor >= 19; minor--) {
    const bin = `/usr/lib/go-1.${minor}/bin/go`;
    if (spawnSync(bin, ["version"]).status === 0) return bin;
  }
  return spawnSync("go", ["version"]).status === 0 ? "go" : undefined;
}
