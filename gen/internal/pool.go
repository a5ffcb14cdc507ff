package internal

import (
	"math"
	"sort"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// poolBytes is the size of every vector constant: one ZMM, so that AVX2 and
// AVX-512 code read the same table.
const poolBytes = 64

// Pool collects file-local read-only vector constants and writes them once,
// sorted by name, when Flush is called (so output is byte-for-byte stable).
type Pool struct {
	data map[string][]Constant // name -> one poolBytes vector, as elements
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{data: map[string][]Constant{}} }

func (p *Pool) ref(name string, elems []Constant) Mem {
	if _, ok := p.data[name]; !ok {
		p.data[name] = elems
	}
	return NewDataAddr(NewStaticSymbol(name), 0)
}

// F64 returns a vector of float64 v.
func (p *Pool) F64(name string, v float64) Mem {
	return p.U64(name, math.Float64bits(v))
}

// F32 returns a vector of float32 v.
func (p *Pool) F32(name string, v float32) Mem {
	return p.U32(name, math.Float32bits(v))
}

// U64 returns a vector of the 64-bit pattern v.
func (p *Pool) U64(name string, v uint64) Mem {
	e := make([]Constant, poolBytes/8)
	for i := range e {
		e[i] = U64(v)
	}
	return p.ref(name, e)
}

// U32 returns a vector of the 32-bit pattern v.
func (p *Pool) U32(name string, v uint32) Mem {
	e := make([]Constant, poolBytes/4)
	for i := range e {
		e[i] = U32(v)
	}
	return p.ref(name, e)
}

// Of returns a vector of value v in type d.
func (p *Pool) Of(d DType, name string, v float64) Mem {
	if d.Size == 4 {
		return p.F32(name+"32", float32(v))
	}
	return p.F64(name+"64", v)
}

// MaskTable returns a 64-byte table of 32 bytes of ones then 32 of zeros: the
// 32 bytes at offset 32-k*size are a VMASKMOV mask for the first k elements.
func (p *Pool) MaskTable() Mem {
	e := make([]Constant, 8)
	for i := range e {
		if i < 4 {
			e[i] = U64(math.MaxUint64)
		} else {
			e[i] = U64(0)
		}
	}
	return p.ref("masktab", e)
}

// kTable returns the 17 uint16 values (1<<k)-1, k = 0..16.
func (p *Pool) kTable() Mem {
	e := make([]Constant, 17)
	for i := range e {
		e[i] = U16(uint16(1<<i - 1))
	}
	return p.ref("ktab", e)
}

// Flush emits every constant as a GLOBL.
func (p *Pool) Flush() {
	names := make([]string, 0, len(p.data))
	for n := range p.data {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		GLOBL(n, RODATA|NOPTR)
		off := 0
		for _, c := range p.data[n] {
			DATA(off, c)
			off += int(c.Bytes())
		}
	}
}
