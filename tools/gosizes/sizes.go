package main

import (
	"go/types"
	"sort"
)

// gcSizes implements types.Sizes with the rules of the gc compiler (cmd/compile/internal/types/size.go),
// which Go 1.19's types.SizesFor does not follow:
//   - a non-zero-size struct whose last field has size zero gets one extra byte before rounding;
//   - sync/atomic.align64 (and so atomic.Int64 / atomic.Uint64) is 8-aligned on every arch;
//   - complex64 is 4-aligned; zero-length arrays keep their element's alignment.
type gcSizes struct {
	WordSize int64
	MaxAlign int64
	depth    int // recursion guard for invalid (recursive) types
}

func sizesForArch(arch string) *gcSizes {
	switch arch {
	case "386", "arm", "mips", "mipsle":
		return &gcSizes{WordSize: 4, MaxAlign: 4}
	}
	return &gcSizes{WordSize: 8, MaxAlign: 8}
}

var basicSizes = map[types.BasicKind]int64{
	types.Bool: 1, types.Int8: 1, types.Int16: 2, types.Int32: 4, types.Int64: 8,
	types.Uint8: 1, types.Uint16: 2, types.Uint32: 4, types.Uint64: 8,
	types.Float32: 4, types.Float64: 8, types.Complex64: 8, types.Complex128: 16,
	types.UntypedBool: 1, types.UntypedFloat: 8, types.UntypedRune: 4, types.UntypedComplex: 16,
}

func isAlign64(T types.Type) bool {
	n, ok := T.(*types.Named)
	if !ok || n.Obj() == nil || n.Obj().Pkg() == nil {
		return false
	}
	p := n.Obj().Pkg().Path()
	return n.Obj().Name() == "align64" && (p == "sync/atomic" || p == "runtime/internal/atomic")
}

const maxDepth = 200

func (s *gcSizes) Alignof(T types.Type) int64 {
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > maxDepth {
		return 1
	}
	switch t := T.Underlying().(type) {
	case *types.Array:
		return s.Alignof(t.Elem())
	case *types.Struct:
		if t.NumFields() == 0 && isAlign64(T) {
			return 8
		}
		max := int64(1)
		for i := 0; i < t.NumFields(); i++ {
			if a := s.Alignof(t.Field(i).Type()); a > max {
				max = a
			}
		}
		return max
	case *types.Slice, *types.Interface:
		return s.WordSize
	case *types.Basic:
		if t.Info()&types.IsString != 0 {
			return s.WordSize
		}
		switch t.Kind() {
		case types.Invalid:
			return 1
		case types.Complex64:
			return 4
		}
	}
	a := s.Sizeof(T)
	if a < 1 {
		return 1
	}
	if isComplex(T) {
		a /= 2
	}
	if a > s.MaxAlign {
		return s.MaxAlign
	}
	return a
}

func isComplex(T types.Type) bool {
	b, ok := T.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsComplex != 0
}

func align(x, a int64) int64 {
	if a <= 1 {
		return x
	}
	return (x + a - 1) / a * a
}

func (s *gcSizes) Offsetsof(fields []*types.Var) []int64 {
	offsets := make([]int64, len(fields))
	var o int64
	for i, f := range fields {
		a := s.Alignof(f.Type())
		o = align(o, a)
		offsets[i] = o
		o += s.Sizeof(f.Type())
	}
	return offsets
}

func (s *gcSizes) Sizeof(T types.Type) int64 {
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > maxDepth {
		return 0
	}
	switch t := T.Underlying().(type) {
	case *types.Basic:
		k := t.Kind()
		if sz, ok := basicSizes[k]; ok {
			return sz
		}
		switch k {
		case types.String, types.UntypedString:
			return 2 * s.WordSize
		case types.Invalid, types.UntypedNil:
			return 0
		}
		return s.WordSize // int, uint, uintptr, unsafe.Pointer, untyped int
	case *types.Array:
		n := t.Len()
		if n <= 0 {
			return 0
		}
		return n * s.Sizeof(t.Elem())
	case *types.Slice:
		return 3 * s.WordSize
	case *types.Struct:
		n := t.NumFields()
		if n == 0 {
			return 0
		}
		fields := make([]*types.Var, n)
		for i := range fields {
			fields[i] = t.Field(i)
		}
		return s.structSize(T, fields)
	case *types.Interface:
		return 2 * s.WordSize
	}
	return s.WordSize // pointer, map, chan, func, type parameter
}

// structSize computes the gc size of a struct with the given fields (in this order).
func (s *gcSizes) structSize(T types.Type, fields []*types.Var) int64 {
	n := len(fields)
	if n == 0 {
		return 0
	}
	offs := s.Offsetsof(fields)
	lastSize := s.Sizeof(fields[n-1].Type())
	o := offs[n-1] + lastSize
	if o > 0 && lastSize == 0 {
		o++
	}
	maxAlign := int64(1)
	if T != nil && isAlign64(T) {
		maxAlign = 8
	}
	for _, f := range fields {
		if a := s.Alignof(f.Type()); a > maxAlign {
			maxAlign = a
		}
	}
	return align(o, maxAlign)
}

// ptrdata follows golang.org/x/tools/go/analysis/passes/fieldalignment.
func (s *gcSizes) ptrdata(T types.Type) int64 {
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > maxDepth {
		return 0
	}
	switch t := T.Underlying().(type) {
	case *types.Basic:
		switch t.Kind() {
		case types.String, types.UnsafePointer:
			return s.WordSize
		}
		return 0
	case *types.Pointer:
		// The GC does not scan pointers to not-in-heap memory (types holding runtime/internal/sys.NotInHeap).
		if notInHeap(t.Elem(), 0) {
			return 0
		}
		return s.WordSize
	case *types.Chan, *types.Map, *types.Signature, *types.Slice:
		return s.WordSize
	case *types.Interface:
		return 2 * s.WordSize
	case *types.Array:
		n := t.Len()
		if n <= 0 {
			return 0
		}
		a := s.ptrdata(t.Elem())
		if a == 0 {
			return 0
		}
		z := s.Sizeof(t.Elem())
		return (n-1)*z + a
	case *types.Struct:
		fields := make([]*types.Var, t.NumFields())
		for i := range fields {
			fields[i] = t.Field(i)
		}
		return s.structPtrdata(fields)
	}
	return 0
}

// structPtrdata is ptrdata for a field list in a given order.
func (s *gcSizes) structPtrdata(fields []*types.Var) int64 {
	var o, p int64
	for _, f := range fields {
		ft := f.Type()
		a, sz := s.Alignof(ft), s.Sizeof(ft)
		fp := s.ptrdata(ft)
		o = align(o, a)
		if fp != 0 {
			p = o + fp
		}
		o += sz
	}
	return p
}

// optimalOrder is fieldalignment's optimalOrder with a stable sort (original order breaks ties).
func (s *gcSizes) optimalOrder(fields []*types.Var) []int {
	type elem struct {
		index                    int
		alignof, sizeof, ptrdata int64
	}
	elems := make([]elem, len(fields))
	for i, f := range fields {
		ft := f.Type()
		elems[i] = elem{i, s.Alignof(ft), s.Sizeof(ft), s.ptrdata(ft)}
	}
	sort.SliceStable(elems, func(i, j int) bool {
		ei, ej := &elems[i], &elems[j]
		zeroi, zeroj := ei.sizeof == 0, ej.sizeof == 0
		if zeroi != zeroj {
			return zeroi
		}
		if ei.alignof != ej.alignof {
			return ei.alignof > ej.alignof
		}
		noptrsi, noptrsj := ei.ptrdata == 0, ej.ptrdata == 0
		if noptrsi != noptrsj {
			return noptrsj
		}
		if !noptrsi {
			traili, trailj := ei.sizeof-ei.ptrdata, ej.sizeof-ej.ptrdata
			if traili != trailj {
				return traili < trailj
			}
		}
		if ei.sizeof != ej.sizeof {
			return ei.sizeof > ej.sizeof
		}
		return false
	})
	out := make([]int, len(elems))
	for i, e := range elems {
		out[i] = e.index
	}
	return out
}

var sizeClasses = []int64{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

func sizeClass(size int64) int64 {
	if size <= 0 {
		return 0
	}
	for _, c := range sizeClasses {
		if size <= c {
			return c
		}
	}
	return align(size, 8192)
}

// notInHeap reports whether values of T can never be on the GC heap: sys.NotInHeap itself, or a
// struct or array that holds it (the compiler's types.Type.NotInHeap).
func notInHeap(T types.Type, depth int) bool {
	if depth > 16 {
		return false
	}
	if n, ok := T.(*types.Named); ok && n.Obj().Name() == "nih" && n.Obj().Pkg() != nil {
		switch n.Obj().Pkg().Path() {
		case "internal/runtime/sys", "runtime/internal/sys":
			return true
		}
	}
	switch t := T.Underlying().(type) {
	case *types.Struct:
		for i := 0; i < t.NumFields(); i++ {
			if notInHeap(t.Field(i).Type(), depth+1) {
				return true
			}
		}
	case *types.Array:
		return notInHeap(t.Elem(), depth+1)
	}
	return false
}
