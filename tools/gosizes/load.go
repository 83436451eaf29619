package main

import (
	"errors"
	"go/ast"
	"go/build"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
)

// parseCache shares parsed files across archs (go/types never mutates the AST).
type parseCache struct {
	mu    sync.Mutex
	fset  *token.FileSet
	files map[string]*parsed
}

type parsed struct {
	once sync.Once
	file *ast.File
	err  error
}

func newParseCache() *parseCache {
	return &parseCache{fset: token.NewFileSet(), files: map[string]*parsed{}}
}

func (c *parseCache) parse(filename string) (*ast.File, error) {
	c.mu.Lock()
	p := c.files[filename]
	if p == nil {
		p = &parsed{}
		c.files[filename] = p
	}
	c.mu.Unlock()
	p.once.Do(func() {
		src, err := os.ReadFile(filename)
		if err != nil {
			p.err = err
			return
		}
		p.file, p.err = parser.ParseFile(c.fset, filename, src, parser.ParseComments|parser.SkipObjectResolution)
	})
	return p.file, p.err
}

// module is a go.mod found in the analysed tree.
type module struct {
	path string // module path
	dir  string // absolute directory
}

// Package is one loaded package for one arch.
type Package struct {
	Path    string // import path
	AbsDir  string
	Types   *types.Package
	Info    *types.Info
	Files   []*ast.File
	Names   []string // absolute file names, parallel to Files
	Errors  []types.Error
	Fake    bool
	InTree  bool
	loading bool
}

// Loader loads and type-checks packages for one GOOS/GOARCH.
type Loader struct {
	goos, arch string
	ctxt       build.Context
	sizes      *gcSizes
	cache      *parseCache
	root       string // absolute root of the analysed tree ("" in stdlib mode)
	modules    []module
	pkgs       map[string]*Package
	goroot     string
}

func newLoader(goos, arch string, cache *parseCache, root string, modules []module) *Loader {
	if arch == "wasm" && goos != "js" {
		goos = "js" // gc supports wasm only as js/wasm
	}
	ctxt := build.Default
	ctxt.GOOS = goos
	ctxt.GOARCH = arch
	ctxt.CgoEnabled = false
	ctxt.GOPATH = ""
	ctxt.Dir = ""
	// goexperiment tags as the go command sets them for this GOARCH: the arch-independent defaults of
	// the Go that built this tool (goexperiment.jsonv2 in Go 1.27, none in 1.19), plus the register
	// ABI on the archs that use it. Arch feature tags (amd64.v1) belong to the host and are dropped.
	var tags []string
	for _, t := range build.Default.ToolTags {
		if strings.HasPrefix(t, "goexperiment.") && !strings.HasPrefix(t, "goexperiment.regabi") {
			tags = append(tags, t)
		}
	}
	switch arch {
	case "amd64", "arm64", "ppc64", "ppc64le", "riscv64":
		tags = append(tags, "goexperiment.regabiwrappers", "goexperiment.regabiargs")
	}
	ctxt.ToolTags = tags
	return &Loader{goos: goos, arch: arch, ctxt: ctxt, sizes: sizesForArch(arch), cache: cache,
		root: root, modules: modules, pkgs: map[string]*Package{}, goroot: runtime.GOROOT()}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Import implements types.Importer.
func (l *Loader) Import(p string) (*types.Package, error) { return l.ImportFrom(p, "", 0) }

// ImportFrom implements types.ImporterFrom.
func (l *Loader) ImportFrom(p, dir string, _ types.ImportMode) (*types.Package, error) {
	if p == "unsafe" {
		return types.Unsafe, nil
	}
	pkg := l.load(p)
	if pkg == nil || pkg.Types == nil {
		return nil, errors.New("cannot import " + p)
	}
	return pkg.Types, nil
}

// resolveDir maps an import path to a directory: the tree's modules first, then its vendor
// directory, then GOROOT (including GOROOT/src/vendor). inTree reports a tree package.
func (l *Loader) resolveDir(p string) (dir string, inTree bool) {
	best := -1
	for i, m := range l.modules {
		if p == m.path || strings.HasPrefix(p, m.path+"/") {
			if best < 0 || len(m.path) > len(l.modules[best].path) {
				best = i
			}
		}
	}
	if best >= 0 {
		m := l.modules[best]
		d := filepath.Join(m.dir, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, m.path), "/")))
		if isDir(d) {
			return d, true
		}
		return "", true
	}
	if l.root != "" {
		if d := filepath.Join(l.root, "vendor", filepath.FromSlash(p)); isDir(d) {
			return d, true
		}
	}
	first := strings.SplitN(p, "/", 2)[0]
	if !strings.Contains(first, ".") {
		if d := filepath.Join(l.goroot, "src", filepath.FromSlash(p)); isDir(d) {
			return d, false
		}
	}
	if d := filepath.Join(l.goroot, "src", "vendor", filepath.FromSlash(p)); isDir(d) {
		return d, false
	}
	return "", false
}

var versionSuffix = regexp.MustCompile(`^v[0-9]+$`)

// guessName guesses a package name from its import path, for fake packages.
func guessName(p string) string {
	parts := strings.Split(p, "/")
	name := parts[len(parts)-1]
	if versionSuffix.MatchString(name) && len(parts) > 1 {
		name = parts[len(parts)-2]
	}
	if i := strings.Index(name, ".v"); i > 0 { // gopkg.in/yaml.v3
		name = name[:i]
	}
	name = strings.TrimPrefix(name, "go-")
	name = strings.TrimSuffix(name, "-go")
	name = strings.TrimSuffix(name, ".go")
	name = strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, name)
	if name == "" {
		name = "_"
	}
	return name
}

func (l *Loader) fake(p string) *Package {
	tp := types.NewPackage(p, guessName(p))
	tp.MarkComplete()
	pkg := &Package{Path: p, Types: tp, Fake: true}
	l.pkgs[p] = pkg
	return pkg
}

// load loads the package with import path p (cached).
func (l *Loader) load(p string) *Package {
	if pkg, ok := l.pkgs[p]; ok {
		if pkg.loading { // import cycle
			return nil
		}
		return pkg
	}
	dir, inTree := l.resolveDir(p)
	if dir == "" {
		return l.fake(p)
	}
	pkg := l.loadDir(p, dir, inTree)
	if pkg == nil {
		return l.fake(p)
	}
	return pkg
}

// loadDir loads the package in dir with the given import path. Returns nil when the directory
// holds no Go files for this GOOS/GOARCH.
func (l *Loader) loadDir(p, dir string, inTree bool) *Package {
	if pkg, ok := l.pkgs[p]; ok {
		if pkg.loading {
			return nil
		}
		return pkg
	}
	bp, err := l.ctxt.ImportDir(dir, 0)
	var files []string
	if err != nil {
		var mp *build.MultiplePackageError
		if errors.As(err, &mp) {
			// keep the files of the first package name
			for i, f := range mp.Files {
				if mp.Packages[i] == mp.Packages[0] {
					files = append(files, f)
				}
			}
		} else if bp == nil || len(bp.GoFiles) == 0 {
			return nil
		}
	}
	if files == nil {
		files = bp.GoFiles
	}
	if len(files) == 0 {
		return nil
	}
	pkg := &Package{Path: p, AbsDir: dir, InTree: inTree, loading: true}
	l.pkgs[p] = pkg
	for _, f := range files {
		name := filepath.Join(dir, f)
		af, perr := l.cache.parse(name)
		if af == nil {
			continue
		}
		var el scanner.ErrorList
		if errors.As(perr, &el) {
			tf := l.cache.fset.File(af.Pos())
			for _, e := range el {
				pos := token.NoPos
				if tf != nil && e.Pos.Offset >= 0 && e.Pos.Offset <= tf.Size() {
					pos = tf.Pos(e.Pos.Offset)
				}
				pkg.Errors = append(pkg.Errors, types.Error{Fset: l.cache.fset, Pos: pos, Msg: "syntax error: " + e.Msg})
			}
		}
		pkg.Files = append(pkg.Files, af)
		pkg.Names = append(pkg.Names, name)
	}
	conf := types.Config{
		Importer:                 l,
		Sizes:                    l.sizes,
		IgnoreFuncBodies:         true,
		DisableUnusedImportCheck: true,
		FakeImportC:              true,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				pkg.Errors = append(pkg.Errors, te)
			}
		},
	}
	if inTree {
		pkg.Info = &types.Info{
			Defs: map[*ast.Ident]types.Object{},
			Uses: map[*ast.Ident]types.Object{},
		}
	}
	tp, _ := conf.Check(p, l.cache.fset, pkg.Files, pkg.Info)
	if tp == nil {
		tp = types.NewPackage(p, path.Base(p))
	}
	pkg.Types = tp
	pkg.loading = false
	return pkg
}
