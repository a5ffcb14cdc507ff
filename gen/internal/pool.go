package internal

import (
	"math"
	"sort"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Pool collects file-local read-only constants and writes them once, when
// Flush is called, in a byte-for-byte stable order.
//
// Splat vectors (one value in every lane) share one table, "pool", read
// through a base register that BeginWith rounds up to 64 bytes. The Go linker
// aligns data to at most 32 bytes, so a ZMM constant in a symbol of its own
// splits a cache line whenever the link puts it at 32 mod 64 (AVX-512 Exp
// ran much slower, bench/TUNING.md). Each splat owns a 128-byte slot whose first 96
// bytes repeat the value: whether the table starts at 0 or 32 mod 64, the 64
// bytes at base+128*slot hold nothing else.
type Pool struct {
	data   map[string][]Constant     // other tables, each its own symbol
	slots  map[string]int            // splat name -> slot
	splats []Constant                // slot -> the repeated element
	base   reg.GPVirtual             // the current function's aligned table address
	held   map[string]reg.VecVirtual // splats and tables kept in registers (Hold)
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{data: map[string][]Constant{}, slots: map[string]int{}, held: map[string]reg.VecVirtual{}}
}

// begin must follow every TEXT whose body uses the pool's splats. With zmm
// it loads the table's address, rounded up to 64 bytes, into a register;
// without, splats are read from the symbol directly (32-byte loads from a
// 32-byte aligned table never split a line).
func (p *Pool) begin(zmm bool) {
	p.base = nil
	if !zmm {
		return
	}
	p.base = GP64()
	LEAQ(NewDataAddr(NewStaticSymbol("pool"), 0), p.base)
	ADDQ(U32(63), p.base)
	ANDQ(I32(-64), p.base)
}

// within emits body with the splats read through an aligned base register
// (when zmm) that is live only there: for functions with no general
// register to spare all along, around their hot loop.
func (p *Pool) within(zmm bool, body func()) {
	if !zmm || p.base != nil {
		body()
		return
	}
	p.begin(true)
	body()
	p.base = nil
}

// splat returns the 64-byte vector of element c.
func (p *Pool) splat(name string, c Constant) Mem {
	slot, ok := p.slots[name]
	if !ok {
		slot = len(p.splats)
		p.slots[name] = slot
		p.splats = append(p.splats, c)
	}
	if p.base == nil {
		return NewDataAddr(NewStaticSymbol("pool"), 128*slot)
	}
	return Mem{Base: p.base, Disp: 128 * slot}
}

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

// A Splat names a vector of the pool holding C in every lane.
type Splat struct {
	Name string
	C    Constant
}

// F32Splat is the splat of float32 v; F64Splat of float64 v.
func F32Splat(name string, v float32) Splat { return Splat{name, U32(math.Float32bits(v))} }
func F64Splat(name string, v float64) Splat { return Splat{name, U64(math.Float64bits(v))} }

// C returns splat s: its register while held (see Hold), else memory.
func (p *Pool) C(s Splat) Op {
	if r, ok := p.held[s.Name]; ok {
		return r
	}
	return p.splat(s.Name, s.C)
}

// Hold loads each splat into a new isa vector that C returns until
// Release. For the constants of a hot loop where registers are to spare
// (AVX-512 has 32): as memory operands they cost a load each use (9 a
// vector in the exp loops, more than the two ZMM loads a cycle can serve).
func (p *Pool) Hold(isa ISA, ss ...Splat) {
	for _, s := range ss {
		r := isa.Vec()
		VMOVUPS(p.splat(s.Name, s.C), r)
		p.held[s.Name] = r
	}
}

// Release ends every Hold: C reads memory again.
func (p *Pool) Release() { clear(p.held) }

// U64 returns a vector of the 64-bit pattern v.
func (p *Pool) U64(name string, v uint64) Mem { return p.splat(name, U64(v)) }

// U32 returns a vector of the 32-bit pattern v.
func (p *Pool) U32(name string, v uint32) Mem { return p.splat(name, U32(v)) }

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

// Flush emits the splat table and every other table as a GLOBL.
func (p *Pool) Flush() {
	if len(p.splats) > 0 {
		GLOBL("pool", RODATA|NOPTR)
		for slot, c := range p.splats {
			for off := 0; off < 96; off += int(c.Bytes()) {
				DATA(128*slot+off, c)
			}
		}
	}
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
