package main

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/printer"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

type FieldLayout struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Offset   int64  `json:"offset"`
	Size     int64  `json:"size"`
	Align    int64  `json:"align"`
	PtrBytes int64  `json:"ptrBytes"`
	Embedded bool   `json:"embedded,omitempty"`
}

type StructLayout struct {
	Size            int64         `json:"size"`
	Align           int64         `json:"align"`
	Padding         int64         `json:"padding"`
	TrailingPadding int64         `json:"trailingPadding"`
	PtrBytes        int64         `json:"ptrBytes"`
	SizeClass       int64         `json:"sizeClass"`
	OptimalSize     int64         `json:"optimalSize"`
	OptimalPtrBytes int64         `json:"optimalPtrBytes"`
	OptimalOrder    []string      `json:"optimalOrder"`
	PointerDepth    int           `json:"pointerDepth"`
	Cyclic          bool          `json:"cyclic"`
	PointerChain    []string      `json:"pointerChain"`
	PointerFields   int           `json:"pointerFields"`
	Fields          []FieldLayout `json:"fields"`
}

type StructReport struct {
	Package    string                   `json:"package"`
	Dir        string                   `json:"dir"`
	File       string                   `json:"file"`
	Line       int                      `json:"line"`
	Name       string                   `json:"name"`
	Generic    bool                     `json:"generic"`
	Resolved   bool                     `json:"resolved"`
	Unresolved []string                 `json:"unresolved"`
	Layouts    map[string]*StructLayout `json:"layouts"`
}

type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

type Output struct {
	Schema      string          `json:"schema"`
	Goos        string          `json:"goos"`
	Archs       []string        `json:"archs"`
	Structs     []*StructReport `json:"structs"`
	Diagnostics []Diagnostic    `json:"diagnostics"`
}

// treeDir is one directory of the analysed tree that may hold a package.
type treeDir struct {
	rel        string // "." or "a/b"
	abs        string
	importPath string
}

func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

func readModulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "module") {
			rest := strings.TrimSpace(strings.TrimPrefix(line, "module"))
			if i := strings.Index(rest, "//"); i >= 0 {
				rest = strings.TrimSpace(rest[:i])
			}
			return strings.Trim(rest, "\"`")
		}
	}
	return ""
}

// scanTree finds the modules and the candidate package directories under root.
func scanTree(root string) ([]module, []treeDir) {
	var mods []module
	var dirs []treeDir
	type frame struct{ abs, rel string }
	var walk func(abs, rel string, mod *module)
	walk = func(abs, rel string, mod *module) {
		if mp := readModulePath(filepath.Join(abs, "go.mod")); mp != "" {
			m := module{path: mp, dir: abs}
			mods = append(mods, m)
			mod = &m
		}
		ents, err := os.ReadDir(abs)
		if err != nil {
			return
		}
		hasGo := false
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
				hasGo = true
			}
		}
		if hasGo {
			ip := rel
			if mod != nil {
				r, _ := filepath.Rel(mod.dir, abs)
				r = filepath.ToSlash(r)
				ip = mod.path
				if r != "." {
					ip = mod.path + "/" + r
				}
			}
			dirs = append(dirs, treeDir{rel: rel, abs: abs, importPath: ip})
		}
		for _, e := range ents {
			if e.IsDir() && !skipDir(e.Name()) {
				r := e.Name()
				if rel != "." {
					r = rel + "/" + e.Name()
				}
				walk(filepath.Join(abs, e.Name()), r, mod)
			}
		}
	}
	walk(root, ".", nil)
	return mods, dirs
}

// archResult is what one arch contributes for one type declaration.
type archResult struct {
	key     string
	report  StructReport // identity fields only
	layout  *StructLayout
	issues  []string
	generic bool
}

type dumper struct {
	root    string
	l       *Loader
	specs   map[*types.TypeName]declSite
	issues  map[*types.TypeName][]string
	inAlias map[*types.TypeName]bool
}

type declSite struct {
	pkg  *Package
	spec *ast.TypeSpec
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// byValueSpans calls fn for every part of a type expression whose layout the enclosing type
// depends on: leaf type names and array lengths not behind a pointer, slice, map, chan, func
// or interface.
func byValueSpans(e ast.Expr, fn func(ast.Node)) {
	switch e := unparen(e).(type) {
	case *ast.StructType:
		if e.Fields != nil {
			for _, f := range e.Fields.List {
				byValueSpans(f.Type, fn)
			}
		}
	case *ast.ArrayType:
		if e.Len == nil {
			return
		}
		if _, ok := e.Len.(*ast.Ellipsis); !ok {
			fn(e.Len)
		}
		byValueSpans(e.Elt, fn)
	case *ast.StarExpr, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType, *ast.Ellipsis:
		return
	case nil:
		return
	default:
		fn(e)
	}
}

// declIssues lists what a tree type declaration's own text leaves unresolved.
func (d *dumper) declIssues(pkg *Package, spec *ast.TypeSpec) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	// Syntax errors anywhere in the declaration.
	for _, e := range pkg.Errors {
		if strings.HasPrefix(e.Msg, "syntax error") && e.Pos.IsValid() && e.Pos >= spec.Pos() && e.Pos <= spec.End() {
			add(e.Msg)
		}
	}
	// Errors reported at the type's name (declaration cycles).
	for _, e := range pkg.Errors {
		if e.Pos == spec.Name.Pos() && !strings.HasPrefix(e.Msg, "\t") {
			add(e.Msg)
		}
	}
	byValueSpans(spec.Type, func(n ast.Node) {
		found := false
		ast.Inspect(n, func(c ast.Node) bool {
			switch c := c.(type) {
			case *ast.StarExpr, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType:
				return false
			case *ast.BadExpr:
				add("syntax error")
				found = true
			case *ast.Ident:
				// an alias declared in the tree: its own declaration says what is missing
				if tn, ok := pkg.Info.Uses[c].(*types.TypeName); ok && tn.IsAlias() && !d.inAlias[tn] {
					d.inAlias[tn] = true
					for _, is := range d.issuesOf(tn) {
						add(is)
						found = true
					}
					delete(d.inAlias, tn)
				}
			case *ast.SelectorExpr:
				if tn, ok := pkg.Info.Uses[c.Sel].(*types.TypeName); ok && tn.IsAlias() && !d.inAlias[tn] {
					d.inAlias[tn] = true
					for _, is := range d.issuesOf(tn) {
						add(is)
						found = true
					}
					delete(d.inAlias, tn)
				}
				x, ok := c.X.(*ast.Ident)
				if !ok {
					return true
				}
				if pn, ok := pkg.Info.Uses[x].(*types.PkgName); ok {
					if ip := d.l.pkgs[pn.Imported().Path()]; ip != nil && ip.Fake {
						add(pn.Imported().Path() + "." + c.Sel.Name)
						found = true
					}
				} else if pkg.Info.Uses[x] == nil {
					// an import that did not resolve to a package name
					for _, f := range pkg.Files {
						if f.Pos() <= c.Pos() && c.Pos() <= f.End() {
							for _, im := range f.Imports {
								p := strings.Trim(im.Path.Value, "\"`")
								if ip := d.l.pkgs[p]; ip != nil && ip.Fake {
									if (im.Name != nil && im.Name.Name == x.Name) || (im.Name == nil && lastElem(p) == x.Name) {
										add(p + "." + c.Sel.Name)
										found = true
									}
								}
							}
						}
					}
				}
				return false
			}
			return true
		})
		if !found {
			for _, e := range pkg.Errors {
				if e.Pos.IsValid() && e.Pos >= n.Pos() && e.Pos < n.End() {
					add(e.Msg)
				}
			}
		}
	})
	return out
}

func lastElem(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (d *dumper) siteOf(obj *types.TypeName) (declSite, bool) {
	if s, ok := d.specs[obj]; ok {
		return s, s.spec != nil
	}
	if obj.Pkg() == nil {
		return declSite{}, false
	}
	pkg := d.l.pkgs[obj.Pkg().Path()]
	if pkg == nil || !pkg.InTree || pkg.Info == nil {
		d.specs[obj] = declSite{}
		return declSite{}, false
	}
	for _, f := range pkg.Files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, sp := range gd.Specs {
				ts := sp.(*ast.TypeSpec)
				if tn, ok := pkg.Info.Defs[ts.Name].(*types.TypeName); ok {
					d.specs[tn] = declSite{pkg: pkg, spec: ts}
				}
			}
		}
	}
	s, ok := d.specs[obj]
	if !ok {
		d.specs[obj] = declSite{}
	}
	return s, ok && s.spec != nil
}

func (d *dumper) issuesOf(obj *types.TypeName) []string {
	if is, ok := d.issues[obj]; ok {
		return is
	}
	var is []string
	if s, ok := d.siteOf(obj); ok {
		is = d.declIssues(s.pkg, s.spec)
	}
	d.issues[obj] = is
	return is
}

// typeIssues walks everything t holds by value and collects what is unresolved.
func (d *dumper) typeIssues(t types.Type, stack []types.Type, add func(string)) {
	switch t := t.(type) {
	case *types.Named:
		obj := t.Origin().Obj()
		for _, o := range stack {
			if types.Identical(o, t) {
				add("recursive type " + obj.Name())
				return
			}
		}
		if len(stack) > 100 {
			add("type nesting too deep")
			return
		}
		for _, s := range d.issuesOf(obj) {
			add(s)
		}
		d.typeIssues(t.Underlying(), append(stack, t), add)
	case *types.Struct:
		for i := 0; i < t.NumFields(); i++ {
			d.typeIssues(t.Field(i).Type(), stack, add)
		}
	case *types.Array:
		if t.Len() < 0 {
			add("invalid array length")
		}
		d.typeIssues(t.Elem(), stack, add)
	case *types.Basic:
		if t.Kind() == types.Invalid {
			add("invalid type")
		}
	case *types.TypeParam:
		add("type parameter " + t.Obj().Name())
	}
}

func (d *dumper) layout(T types.Type, st *types.Struct, astFields []ast.Expr, qual types.Qualifier) *StructLayout {
	s := d.l.sizes
	n := st.NumFields()
	fields := make([]*types.Var, n)
	for i := range fields {
		fields[i] = st.Field(i)
	}
	L := &StructLayout{OptimalOrder: []string{}, PointerChain: []string{}, Fields: []FieldLayout{}}
	L.Size = s.Sizeof(T)
	L.Align = s.Alignof(T)
	L.PtrBytes = s.ptrdata(T)
	L.SizeClass = sizeClass(L.Size)
	offs := s.Offsetsof(fields)
	var sum, end int64
	for i, f := range fields {
		ft := f.Type()
		fl := FieldLayout{Name: f.Name(), Offset: offs[i], Size: s.Sizeof(ft), Align: s.Alignof(ft), PtrBytes: s.ptrdata(ft), Embedded: f.Embedded()}
		if i < len(astFields) && astFields[i] != nil {
			fl.Type = d.exprText(astFields[i])
		} else {
			fl.Type = types.TypeString(ft, qual)
		}
		if fl.PtrBytes > 0 {
			L.PointerFields++
		}
		sum += fl.Size
		end = fl.Offset + fl.Size
		if i == n-1 && fl.Size == 0 && end > 0 {
			end++
		}
		L.Fields = append(L.Fields, fl)
	}
	L.Padding = L.Size - sum
	L.TrailingPadding = L.Size - end
	if n == 0 {
		L.TrailingPadding = 0
	}
	order := s.optimalOrder(fields)
	re := make([]*types.Var, n)
	for i, j := range order {
		re[i] = fields[j]
		L.OptimalOrder = append(L.OptimalOrder, fields[j].Name())
	}
	L.OptimalSize = s.structSize(nil, re)
	L.OptimalPtrBytes = s.structPtrdata(re)
	return L
}

// exprText renders a type expression on one line. types.ExprString abbreviates composite
// literals ("(T literal)"), so those go through go/printer instead.
func (d *dumper) exprText(e ast.Expr) string {
	s := types.ExprString(e)
	lit := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.CompositeLit, *ast.FuncLit:
			lit = true
		}
		return !lit
	})
	if !lit {
		return s
	}
	var buf bytes.Buffer
	if err := printer.Fprint(&buf, d.l.cache.fset, e); err != nil {
		return s
	}
	lines := strings.Split(buf.String(), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	out := strings.Join(lines, "; ")
	out = strings.ReplaceAll(out, "{; ", "{")
	out = strings.ReplaceAll(out, "; }", "}")
	return out
}

func (d *dumper) run(dirs []treeDir) []archResult {
	var out []archResult
	for _, td := range dirs {
		pkg := d.l.loadDir(td.importPath, td.abs, true)
		if pkg == nil || pkg.Info == nil || pkg.AbsDir != td.abs {
			continue
		}
		qual := func(p *types.Package) string {
			if p == pkg.Types {
				return ""
			}
			return p.Name()
		}
		for fi, f := range pkg.Files {
			rel, _ := filepath.Rel(d.root, pkg.Names[fi])
			rel = filepath.ToSlash(rel)
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, sp := range gd.Specs {
					ts := sp.(*ast.TypeSpec)
					if ts.Assign.IsValid() || ts.Name == nil || ts.Name.Name == "_" {
						continue // alias
					}
					astStruct, isStructAST := unparen(ts.Type).(*ast.StructType)
					obj, _ := pkg.Info.Defs[ts.Name].(*types.TypeName)
					var st *types.Struct
					if obj != nil {
						if obj.IsAlias() {
							continue
						}
						st, _ = obj.Type().Underlying().(*types.Struct)
					}
					if st == nil && !isStructAST {
						continue
					}
					line := d.l.cache.fset.PositionFor(ts.Name.Pos(), false).Line // raw line: ignore //line directives
					r := archResult{key: rel + "\x00" + itoa(line) + "\x00" + ts.Name.Name}
					r.report = StructReport{Package: td.importPath, Dir: td.rel, File: rel, Line: line, Name: ts.Name.Name}
					if ts.TypeParams != nil && len(ts.TypeParams.List) > 0 {
						r.generic = true
						out = append(out, r)
						continue
					}
					var issues []string
					seen := map[string]bool{}
					add := func(s string) {
						if !seen[s] {
							seen[s] = true
							issues = append(issues, s)
						}
					}
					if obj == nil {
						add("declaration not type-checked")
					} else {
						d.typeIssues(obj.Type(), nil, add)
					}
					if st == nil {
						add("invalid type")
					}
					if len(issues) > 1 {
						// drop the generic message when a specific cause is known
						var keep []string
						for _, s := range issues {
							if s != "invalid type" {
								keep = append(keep, s)
							}
						}
						issues = keep
					}
					if len(issues) > 0 {
						r.issues = issues
						out = append(out, r)
						continue
					}
					var astFields []ast.Expr
					if isStructAST && astStruct.Fields != nil {
						for _, fld := range astStruct.Fields.List {
							k := len(fld.Names)
							if k == 0 {
								k = 1
							}
							for j := 0; j < k; j++ {
								astFields = append(astFields, fld.Type)
							}
						}
					}
					r.layout = d.layout(obj.Type(), st, astFields, qual)
					out = append(out, r)
				}
			}
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func dumpTree(root, goos string, archs []string) (*Output, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	mods, dirs := scanTree(abs)
	cache := newParseCache()
	results := make([][]archResult, len(archs))
	diags := make([][]Diagnostic, len(archs))
	var wg sync.WaitGroup
	for i, arch := range archs {
		wg.Add(1)
		go func(i int, arch string) {
			defer wg.Done()
			l := newLoader(goos, arch, cache, abs, mods)
			d := &dumper{root: abs, l: l, specs: map[*types.TypeName]declSite{}, issues: map[*types.TypeName][]string{}, inAlias: map[*types.TypeName]bool{}}
			results[i] = d.run(dirs)
			for _, td := range dirs {
				if p := l.pkgs[td.importPath]; p != nil && p.InTree {
					for _, e := range p.Errors {
						pos := e.Fset.PositionFor(e.Pos, false)
						rel, _ := filepath.Rel(abs, pos.Filename)
						diags[i] = append(diags[i], Diagnostic{File: filepath.ToSlash(rel), Line: pos.Line, Message: arch + ": " + e.Msg})
					}
				}
			}
		}(i, arch)
	}
	wg.Wait()
	byKey := map[string]*StructReport{}
	unres := map[string]map[string]bool{}
	var list []*StructReport
	for i, arch := range archs {
		for _, r := range results[i] {
			rep := byKey[r.key]
			if rep == nil {
				c := r.report
				rep = &c
				rep.Layouts = map[string]*StructLayout{}
				rep.Unresolved = []string{}
				byKey[r.key] = rep
				unres[r.key] = map[string]bool{}
				list = append(list, rep)
			}
			if r.generic {
				rep.Generic = true
				continue
			}
			if r.layout != nil {
				rep.Layouts[arch] = r.layout
			}
			for _, s := range r.issues {
				if !unres[r.key][s] {
					unres[r.key][s] = true
					rep.Unresolved = append(rep.Unresolved, s)
				}
			}
		}
	}
	for _, rep := range list {
		if rep.Generic {
			rep.Layouts = map[string]*StructLayout{}
			rep.Resolved = false
			continue
		}
		// Resolved: laid out on every requested arch whose build selects the file (a type in
		// t_amd64.go is not "unresolved" on 386: it does not exist there). This is what the
		// TypeScript engine prints.
		rep.Resolved = len(rep.Layouts) > 0 && len(rep.Unresolved) == 0
		sort.Strings(rep.Unresolved)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].File != list[j].File {
			return list[i].File < list[j].File
		}
		if list[i].Line != list[j].Line {
			return list[i].Line < list[j].Line
		}
		return list[i].Name < list[j].Name
	})
	out := &Output{Schema: "memcheck.layout/v1", Goos: goos, Archs: archs, Structs: list, Diagnostics: []Diagnostic{}}
	seenD := map[string]bool{}
	for _, ds := range diags {
		for _, dg := range ds {
			k := dg.File + "\x00" + itoa(dg.Line) + "\x00" + dg.Message[strings.Index(dg.Message, ": ")+2:]
			if seenD[k] {
				continue
			}
			seenD[k] = true
			dg.Message = dg.Message[strings.Index(dg.Message, ": ")+2:]
			out.Diagnostics = append(out.Diagnostics, dg)
		}
	}
	sort.SliceStable(out.Diagnostics, func(i, j int) bool {
		a, b := out.Diagnostics[i], out.Diagnostics[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	if out.Structs == nil {
		out.Structs = []*StructReport{}
	}
	return out, nil
}
