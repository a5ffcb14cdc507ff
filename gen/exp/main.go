// Command exp generates asm/exp_amd64.s: dst[i] = e^src[i] for float32 and
// float64.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

func main() {
	ConstraintExpr("!purego")
	p := NewPool()
	expAVX2(p, Float32)
	expAVX2(p, Float64)
	p.Flush()
	Generate()
}

func expAVX2(p *Pool, d DType) {
	name := "Exp" + d.Name + "AVX2"
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src []%s)", d.Go))
	Doc(name+" sets dst[i] = e^src[i] within 1 ulp; len(dst) == len(src).")
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	n := Load(Param("src").Len(), GP64())
	lanes := d.Lanes(32)

	var lo, hi VecVirtual
	if d.Size == 4 {
		// Kept in registers: as the first VMINPS/VMAXPS source they let a
		// NaN in x through.
		lo, hi = YMM(), YMM()
		VMOVUPS(p.F32("exp32_lo", ExpF32Lo), lo)
		VMOVUPS(p.F32("exp32_hi", ExpF32Hi), hi)
	}
	// vec computes e^x for one vector in place.
	vec := func(xs []VecVirtual) {
		if d.Size == 8 {
			ExpF64Core(p, xs)
			return
		}
		var wide []VecVirtual
		for _, x := range xs {
			VMINPS(x, hi, x)
			VMAXPS(x, lo, x)
			h := YMM()
			VEXTRACTF128(U8(1), x, h.AsX())
			VCVTPS2PD(h.AsX(), h)
			VCVTPS2PD(x.AsX(), x)
			wide = append(wide, x, h)
		}
		ExpF32Core(p, wide)
		for i := 0; i < len(wide); i += 2 {
			x, h := wide[i], wide[i+1]
			VCVTPD2PSY(x, x.AsX())
			VCVTPD2PSY(h, h.AsX())
			VINSERTF128(U8(1), h.AsX(), x, x)
		}
	}
	unroll := 2
	Loop("exp", n, lanes, unroll, func(u int) {
		xs := make([]VecVirtual, u)
		for i := range xs {
			xs[i] = YMM()
			d.MOVU(Mem{Base: src, Disp: 32 * i}, xs[i])
		}
		vec(xs)
		for i := range xs {
			d.MOVU(xs[i], Mem{Base: dst, Disp: 32 * i})
		}
		ADDQ(U32(32*u), src)
		ADDQ(U32(32*u), dst)
	}, func() {
		m := TailMask(p, d, n)
		x := YMM()
		d.MASKMOV(Mem{Base: src}, m, x)
		vec([]VecVirtual{x})
		d.MASKMOV(x, m, Mem{Base: dst})
	})
	VZEROUPPER()
	RET()
}
