package internal

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// ISA says how wide the vectors are and how tails are masked: AVX2 uses a
// vector mask with VMASKMOV (loads only in hot loops), AVX-512 a K register.
type ISA struct {
	Name   string // as in kernel names
	VB     int    // vector bytes
	AVX512 bool
}

var (
	AVX2   = ISA{Name: "AVX2", VB: 32}
	AVX512 = ISA{Name: "AVX512", VB: 64, AVX512: true}
)

// Vec allocates a vector register of this ISA's width.
func (i ISA) Vec() VecVirtual {
	if i.AVX512 {
		return ZMM()
	}
	return YMM()
}

// like allocates a vector register as wide as v.
func like(v Register) VecVirtual {
	switch v.Size() {
	case 64:
		return ZMM()
	case 16:
		return XMM()
	}
	return YMM()
}

// Mask selects the first k elements of a vector, for row tails.
type Mask struct {
	isa ISA
	d   DType
	v   VecVirtual    // AVX2
	k   OpmaskVirtual // AVX-512
}

// NewMask builds the mask for the first count elements, 0 <= count < lanes
// (count in a GP register, unchanged).
func NewMask(p *Pool, isa ISA, d DType, count Register) Mask {
	m := Mask{isa: isa, d: d}
	if !isa.AVX512 {
		m.v = TailMask(p, d, count)
		return m
	}
	// (1<<count)-1 from a table of 17 uint16: no BMI2 needed.
	base, bits := GP64(), GP32()
	LEAQ(p.kTable(), base)
	MOVWLZX(Mem{Base: base, Index: count, Scale: 2}, bits)
	m.k = K()
	KMOVW(bits, m.k)
	return m
}

// K is the mask's register on AVX-512 (nil on AVX2), for masked forms
// such as a compare confined to the selected lanes.
func (m Mask) K() OpmaskVirtual { return m.k }

// Load loads the selected elements into dst, zeroing the rest; it never
// touches memory outside them.
func (m Mask) Load(mem Mem, dst VecVirtual) {
	if m.isa.AVX512 {
		if m.d.Size == 4 {
			VMOVUPS_Z(mem, m.k, dst)
		} else {
			VMOVUPD_Z(mem, m.k, dst)
		}
		return
	}
	m.d.MASKMOV(mem, m.v, dst)
}

// LoadFill loads the selected elements into dst and sets the rest to fill.
func (m Mask) LoadFill(mem Mem, dst VecVirtual, fill Mem) {
	if m.isa.AVX512 {
		m.d.MOVU(fill, dst)
		m.d.MOVU(mem, m.k, dst) // merge-masking load
		return
	}
	f := like(dst)
	m.d.MASKMOV(mem, m.v, dst)
	m.d.MOVU(fill, f)
	m.d.BLENDV(m.v, dst, f, dst)
}

// MergeMin sets acc = min(x, acc) in the selected lanes (AVX-512) or in
// all lanes (AVX2, where x's fill lanes then take part).
func (m Mask) MergeMin(x, acc VecVirtual) {
	if m.isa.AVX512 {
		m.d.MIN(x, acc, m.k, acc)
		return
	}
	m.d.MIN(x, acc, acc)
}

// Store stores the selected elements of src.
func (m Mask) Store(src VecVirtual, mem Mem) {
	if m.isa.AVX512 {
		m.d.MOVU(src, m.k, mem)
		return
	}
	m.d.MASKMOV(src, m.v, mem)
}

// Select sets dst = (c pred src2) ? x : 0, lane by lane.
func Select(d DType, pred int, src2 Op, c, x, dst VecVirtual) {
	Compare(d, pred, src2, c).Apply(x, dst)
}

// Widen splits float32 vector x into two float64 vectors (lo reuses x).
func Widen(x VecVirtual) (lo, hi VecVirtual) {
	hi = like(x)
	if x.Size() == 64 {
		VEXTRACTF64X4(U8(1), x, hi.AsY())
		VCVTPS2PD(hi.AsY(), hi)
		VCVTPS2PD(x.AsY(), x)
		return x, hi
	}
	VEXTRACTF128(U8(1), x, hi.AsX())
	VCVTPS2PD(hi.AsX(), hi)
	VCVTPS2PD(x.AsX(), x)
	return x, hi
}

// Widen2 is Widen into two new registers, leaving x as it is.
func Widen2(x VecVirtual) (lo, hi VecVirtual) {
	lo, hi = like(x), like(x)
	if x.Size() == 64 {
		VEXTRACTF64X4(U8(1), x, hi.AsY())
		VCVTPS2PD(hi.AsY(), hi)
		VCVTPS2PD(x.AsY(), lo)
		return lo, hi
	}
	VEXTRACTF128(U8(1), x, hi.AsX())
	VCVTPS2PD(hi.AsX(), hi)
	VCVTPS2PD(x.AsX(), lo)
	return lo, hi
}

// Narrow packs two float64 vectors back into lo as float32.
func Narrow(lo, hi VecVirtual) {
	if lo.Size() == 64 {
		VCVTPD2PS(lo, lo.AsY())
		VCVTPD2PS(hi, hi.AsY())
		VINSERTF64X4(U8(1), hi.AsY(), lo, lo)
		return
	}
	VCVTPD2PSY(lo, lo.AsX())
	VCVTPD2PSY(hi, hi.AsX())
	VINSERTF128(U8(1), hi.AsX(), lo, lo)
}

// half folds a ZMM onto its low YMM with op; YMMs are left alone.
func half(v VecVirtual, op func(ops ...Op)) VecVirtual {
	if v.Size() != 64 {
		return v
	}
	t := YMM()
	VEXTRACTF64X4(U8(1), v, t)
	op(t, v.AsY(), v.AsY())
	return v.AsY().(VecVirtual)
}

// Pred is a lane predicate computed once and applied later.
type Pred struct {
	d DType
	v VecVirtual
	k OpmaskVirtual
}

// Compare computes the predicate (c pred src2).
func Compare(d DType, pred int, src2 Op, c VecVirtual) Pred {
	if c.Size() == 64 {
		k := K()
		d.CMP(U8(pred), src2, c, k)
		return Pred{d: d, k: k}
	}
	m := like(c)
	d.CMP(U8(pred), src2, c, m)
	return Pred{d: d, v: m}
}

// K is the predicate's mask register (AVX-512 only), for masked forms.
func (p Pred) K() OpmaskVirtual { return p.k }

// Apply sets dst = x where the predicate holds, 0 elsewhere.
func (p Pred) Apply(x, dst VecVirtual) {
	if p.v == nil {
		if p.d.Size == 4 {
			VMOVAPS_Z(x, p.k, dst)
		} else {
			VMOVAPD_Z(x, p.k, dst)
		}
		return
	}
	p.d.AND(p.v, x, dst)
}

// AnyTrue sets ZF = 0 when any lane of any of the predicates holds (then JNZ
// branches), ZF = 1 when none does.
func AnyTrue(ps []Pred) {
	if ps[0].v == nil {
		k := ps[0].k
		for _, q := range ps[1:] {
			k2 := K()
			KORW(q.k, k, k2)
			k = k2
		}
		KORTESTW(k, k)
		return
	}
	v := ps[0].v
	for _, q := range ps[1:] {
		VORPS(q.v, v, v)
	}
	VPTEST(v, v)
}

// Spill stores the mask in slot (AVX-512: two bytes; AVX2: a vector), for
// MaskFrom to load: a mask built once and used in several places without
// holding a register between them.
func (m Mask) Spill(slot Mem) {
	if m.isa.AVX512 {
		KMOVW(m.k, slot)
		return
	}
	VMOVDQU(m.v, slot)
}

// MaskFrom loads the mask that Spill stored in slot.
func MaskFrom(isa ISA, d DType, slot Mem) Mask {
	m := Mask{isa: isa, d: d}
	if isa.AVX512 {
		m.k = K()
		KMOVW(slot, m.k)
		return m
	}
	m.v = YMM()
	VMOVDQU(slot, m.v)
	return m
}
