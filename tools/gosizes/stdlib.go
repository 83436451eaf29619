package main

import (
	"fmt"
	"go/constant"
	"go/types"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

var allArchs = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le",
	"ppc64", "ppc64le", "riscv64", "s390x", "wasm"}

// stdlibPackages are the packages whose exported types Go code commonly holds in structs.
var stdlibPackages = []string{
	"archive/tar", "archive/zip", "bufio", "bytes", "compress/flate", "compress/gzip", "compress/zlib",
	"container/heap", "container/list", "container/ring", "context",
	"crypto", "crypto/aes", "crypto/cipher", "crypto/ecdsa", "crypto/ed25519", "crypto/elliptic", "crypto/hmac",
	"crypto/rand", "crypto/rsa", "crypto/sha256", "crypto/sha512", "crypto/tls", "crypto/x509", "crypto/x509/pkix",
	"database/sql", "database/sql/driver", "embed",
	"encoding", "encoding/base64", "encoding/binary", "encoding/csv", "encoding/gob", "encoding/hex", "encoding/json",
	"encoding/pem", "encoding/xml", "errors", "expvar", "flag", "fmt",
	"go/ast", "go/token", "hash", "hash/crc32", "hash/crc64", "hash/fnv", "hash/maphash",
	"html", "html/template", "image", "image/color", "io", "io/fs", "io/ioutil", "log", "log/syslog",
	"math", "math/big", "math/bits", "math/rand", "mime", "mime/multipart",
	"net", "net/http", "net/http/cookiejar", "net/http/httptest", "net/http/httptrace", "net/http/httputil",
	"net/http/pprof", "net/mail", "net/netip", "net/rpc", "net/smtp", "net/textproto", "net/url",
	"os", "os/exec", "os/signal", "os/user", "path", "path/filepath", "reflect", "regexp", "regexp/syntax",
	"runtime", "runtime/debug", "runtime/pprof", "runtime/trace", "sort", "strconv", "strings",
	"sync", "sync/atomic", "syscall", "testing", "text/scanner", "text/tabwriter", "text/template", "text/template/parse",
	"time", "unicode", "unicode/utf16", "unicode/utf8",
}

// knownChanges records layouts that differ in later Go releases (only ones we are sure of).
var knownChanges = map[string]string{
	"sync.WaitGroup":          "Go 1.20 replaced state1 uint64/state2 uint32 by state atomic.Uint64 + sema uint32: 16 bytes and 8-aligned on 32-bit archs from 1.20",
	"sync.Map":                "Go 1.24 reimplemented sync.Map on a hash-trie (internal/sync.HashTrieMap): layout differs from 1.24",
	"sync.Mutex":              "Go 1.24 made sync.Mutex wrap internal/sync.Mutex; same 8-byte layout",
	"time.Timer":              "Go 1.23 reworked timers: Timer is {C <-chan Time; initTimer bool} from 1.23, smaller than the 1.19 runtimeTimer layout",
	"time.Ticker":             "Go 1.23 reworked timers: Ticker is {C <-chan Time; initTicker bool} from 1.23",
	"log.Logger":              "Go 1.21 restructured log.Logger (atomic prefix/flag, outMu): layout differs from 1.21",
	"net/http.Request":        "grows in later releases (e.g. Go 1.22 added Pattern and routing fields)",
	"net/http.Server":         "fields are added in most releases",
	"net/http.Transport":      "fields are added in most releases",
	"net/http.Client":         "may grow in later releases",
	"crypto/tls.Config":       "fields are added in most releases",
	"crypto/x509.Certificate": "fields are added in later releases",
	"net/netip.Addr":          "Go 1.22+ stores the zone as unique.Handle instead of *intern.Value; same size",
}

type ArchLayout struct {
	Size     int64     `json:"size"`
	Align    int64     `json:"align"`
	PtrBytes int64     `json:"ptrBytes"`
	Fields   [][]int64 `json:"fields,omitempty"` // per field: offset, size, align, ptrBytes
}

type StdField struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Embedded bool   `json:"embedded,omitempty"`
}

type StdType struct {
	Kind    string                 `json:"kind"`
	Generic bool                   `json:"generic,omitempty"`
	Alias   string                 `json:"alias,omitempty"`
	Note    string                 `json:"note,omitempty"`
	Fields  []StdField             `json:"fields,omitempty"`
	Layouts map[string]*ArchLayout `json:"layouts"`
}

type StdTable struct {
	Schema    string              `json:"schema"`
	GoVersion string              `json:"goVersion"`
	Note      string              `json:"note"`
	Archs     []string            `json:"archs"`
	Packages  []string            `json:"packages"`
	Types     map[string]*StdType `json:"types"`
	// Integer constants with the same value on every arch, as decimal strings.
	Consts map[string]string `json:"consts"`
	// Integer constants whose value depends on the arch (math.MaxInt, strconv.IntSize, ...).
	ArchConsts map[string]map[string]string `json:"archConsts"`
}

func kindOf(t types.Type) string {
	switch u := t.Underlying().(type) {
	case *types.Struct:
		return "struct"
	case *types.Interface:
		return "interface"
	case *types.Pointer:
		return "pointer"
	case *types.Slice:
		return "slice"
	case *types.Map:
		return "map"
	case *types.Chan:
		return "chan"
	case *types.Signature:
		return "func"
	case *types.Array:
		return "array"
	case *types.Basic:
		if u.Kind() == types.String {
			return "string"
		}
		if u.Kind() == types.UnsafePointer {
			return "unsafe.Pointer"
		}
		return "basic"
	}
	return "unknown"
}

func archLayout(s *gcSizes, t types.Type, withFields bool) *ArchLayout {
	al := &ArchLayout{Size: s.Sizeof(t), Align: s.Alignof(t), PtrBytes: s.ptrdata(t)}
	if st, ok := t.Underlying().(*types.Struct); ok && withFields {
		fields := make([]*types.Var, st.NumFields())
		for i := range fields {
			fields[i] = st.Field(i)
		}
		offs := s.Offsetsof(fields)
		al.Fields = [][]int64{}
		for i, f := range fields {
			al.Fields = append(al.Fields, []int64{offs[i], s.Sizeof(f.Type()), s.Alignof(f.Type()), s.ptrdata(f.Type())})
		}
	}
	return al
}

func sameLayout(a, b *ArchLayout) bool {
	return a.Size == b.Size && a.Align == b.Align && a.PtrBytes == b.PtrBytes
}

// allStdPackages lists every importable standard-library package (no internal, vendor, cmd).
func allStdPackages() []string {
	root := filepath.Join(runtime.GOROOT(), "src")
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r // Debian's GOROOT/src is a symlink
	}
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		base := d.Name()
		if rel != "." && (base == "internal" || base == "testdata" || base == "vendor" || rel == "cmd" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
			return filepath.SkipDir
		}
		if rel == "." || rel == "builtin" || rel == "unsafe" {
			return nil
		}
		ents, _ := os.ReadDir(p)
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
				out = append(out, rel)
				break
			}
		}
		return nil
	})
	return out
}

func buildStdlib(pkgs []string, archs []string, goos string, withFields bool) *StdTable {
	tab := &StdTable{Schema: "memcheck.stdlib/v1", GoVersion: runtime.Version(),
		Note:  "generated by tools/gosizes -stdlib (scripts/gen-stdlib.sh) from the GOROOT sources, goos " + goos + " (js for wasm), cgo off; do not edit",
		Archs: archs, Types: map[string]*StdType{}}
	var present []string
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(runtime.GOROOT(), "src", filepath.FromSlash(p))); err == nil {
			present = append(present, p)
		}
	}
	tab.Packages = present
	cache := newParseCache()
	type entry struct {
		key  string
		t    *StdType
		arch string
		lay  *ArchLayout
		val  string // for constants
	}
	constResults := make([][]entry, len(archs))
	results := make([][]entry, len(archs))
	var wg sync.WaitGroup
	for i, arch := range archs {
		wg.Add(1)
		go func(i int, arch string) {
			defer wg.Done()
			l := newLoader(goos, arch, cache, "", nil)
			s := l.sizes
			for _, p := range present {
				pkg := l.load(p)
				if pkg == nil || pkg.Fake || pkg.Types == nil {
					continue
				}
				if os.Getenv("GOSIZES_DEBUG") != "" {
					for _, q := range l.pkgs {
						if len(q.Errors) > 0 || q.Fake {
							fmt.Fprintf(os.Stderr, "%s %s: fake=%v %d errors %v\n", arch, q.Path, q.Fake, len(q.Errors), q.Errors)
							q.Errors = nil
						}
					}
				}
				scope := pkg.Types.Scope()
				self := pkg.Types
				qual := func(p *types.Package) string {
					if p == self {
						return ""
					}
					return p.Name()
				}
				for _, name := range scope.Names() {
					if c, ok := scope.Lookup(name).(*types.Const); ok && c.Exported() && c.Val().Kind() == constant.Int && p != "syscall" {
						constResults[i] = append(constResults[i], entry{key: p + "." + name, arch: arch, val: c.Val().ExactString()})
						continue
					}
					tn, ok := scope.Lookup(name).(*types.TypeName)
					if !ok || !tn.Exported() {
						continue
					}
					t := tn.Type()
					st := &StdType{Kind: kindOf(t), Note: knownChanges[p+"."+name]}
					if tn.IsAlias() {
						st.Alias = types.TypeString(t, nil)
					}
					var lay *ArchLayout
					if n, ok := t.(*types.Named); ok && n.TypeParams().Len() > 0 {
						st.Generic = true
						var lays []*ArchLayout
						cands := []types.Type{types.Typ[types.Int8], types.Typ[types.String],
							types.NewArray(types.Typ[types.Int64], 3), types.NewPointer(types.Typ[types.Int])}
						for _, c := range cands {
							targs := make([]types.Type, n.TypeParams().Len())
							for k := range targs {
								targs[k] = c
							}
							inst, err := types.Instantiate(nil, n, targs, true)
							if err != nil {
								continue
							}
							lays = append(lays, archLayout(s, inst, false))
						}
						if len(lays) >= 2 {
							lay = lays[0]
							for _, o := range lays[1:] {
								if !sameLayout(lay, o) {
									lay = nil
									break
								}
							}
						}
						if lay == nil {
							if st.Note == "" {
								st.Note = "layout depends on the type arguments"
							}
						}
					} else {
						lay = archLayout(s, t, withFields)
						if str, ok := t.Underlying().(*types.Struct); ok && withFields {
							for k := 0; k < str.NumFields(); k++ {
								f := str.Field(k)
								st.Fields = append(st.Fields, StdField{Name: f.Name(), Type: types.TypeString(f.Type(), qual), Embedded: f.Embedded()})
							}
						}
					}
					results[i] = append(results[i], entry{key: p + "." + name, t: st, arch: arch, lay: lay})
				}
			}
		}(i, arch)
	}
	wg.Wait()
	for _, rs := range results {
		for _, e := range rs {
			cur := tab.Types[e.key]
			if cur == nil {
				cur = e.t
				cur.Layouts = map[string]*ArchLayout{}
				tab.Types[e.key] = cur
			} else if cur.Fields != nil && e.t.Fields != nil && !sameFields(cur.Fields, e.t.Fields) {
				// fields differ between archs (build-tagged declarations): keep only the layouts
				cur.Fields = nil
				for _, l := range cur.Layouts {
					l.Fields = nil
				}
				cur.Note = strings.TrimSpace(cur.Note + " (field list differs between archs)")
			}
			if e.lay != nil {
				if cur.Fields == nil {
					e.lay.Fields = nil
				}
				cur.Layouts[e.arch] = e.lay
			}
		}
	}
	tab.Consts = map[string]string{}
	tab.ArchConsts = map[string]map[string]string{}
	perConst := map[string]map[string]string{}
	for _, rs := range constResults {
		for _, e := range rs {
			if perConst[e.key] == nil {
				perConst[e.key] = map[string]string{}
			}
			perConst[e.key][e.arch] = e.val
		}
	}
	for k, m := range perConst {
		vals := map[string]bool{}
		for _, v := range m {
			vals[v] = true
		}
		if len(vals) == 1 && len(m) == len(archs) {
			for _, v := range m {
				tab.Consts[k] = v
			}
		} else {
			tab.ArchConsts[k] = m
		}
	}
	return tab
}

func sameFields(a, b []StdField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
