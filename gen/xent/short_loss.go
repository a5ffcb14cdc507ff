// The short path's losses: the pair's in the two lanes of an XMM.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// pairSeriesTop is the highest power of the short path's log1p series in
// f (f <= 1/6 where it is taken): the first term left out, f^21/21, is
// under 2^-56 of the sum 2(f + f^3/3 + ...), far inside the loss's 2^-46
// (the long rows' log1p goes to f^25).
const pairSeriesTop = 19

// pairLanes loads lane 0 of the slots' vectors (k of them) into the lanes
// of a new XMM: slot i in lane i. With one slot, lane 1 is lane 0's copy.
func pairLanes(vs []VecVirtual) VecVirtual {
	x := XMM()
	b := vs[0]
	if len(vs) > 1 {
		b = vs[1]
	}
	VUNPCKLPD(b.AsX(), vs[0].AsX(), x)
	return x
}

// pairMem is pairLanes for float64 values in memory.
func pairMem(ms []Mem) VecVirtual {
	x := XMM()
	VMOVSD(ms[0], x)
	b := ms[0]
	if len(ms) > 1 {
		b = ms[1]
	}
	VMOVHPD(b, x, x)
	return x
}

// storeLanes stores lane i of the XMM v to ms[i] (pairMem's inverse).
func storeLanes(v Op, ms []Mem) {
	VMOVSD(v, ms[0])
	if len(ms) > 1 {
		VMOVHPD(v, ms[1])
	}
}

// pairLoss emits the losses of the short path's k slots (1 or 2) from
// their O (lane 0 of sums, float64) and the locals' e_t and s_t - max
// (x.ets, x.sts), each slot in its own lane of one XMM, so that the slots'
// chains overlap and no branch depends on the data: Z = e_t + O, loss =
// log(Z) - (s_t - max), but log1p(O/e_t) by its series where e_t >= 1/2
// and O <= 0.4 e_t (p_t near 1: the loss may be tiny), blended lane by
// lane as the four-row path's quadLoss; NaN takes the first. (Where p_t >=
// 1/2 and O > 0.4 e_t the loss is at least log(1.4) and s_t - max lies in
// [-log 2, 0]: log(Z)'s relative error carries over.) Each lane's
// arithmetic is its slot's alone: a row's bits do not depend on whether
// it runs with another. It stores the losses and returns O and Z.
func (x *xentRows) pairLoss(sums []VecVirtual) (o, z VecVirtual) {
	p, k := x.p, len(sums)
	Comment("The slots' losses, slot i in lane i: log(Z) - (s_t - max), or",
		"log1p(O/e_t) by its series where e_t >= 1/2 and O <= 0.4 e_t.")
	o = pairLanes(sums)
	et := pairMem(x.ets[:k])
	z = XMM()
	VADDPD(o, et, z)
	y := XMM()
	VMOVAPD(z, y)
	LogPD(p, y, logTerms(x.d))
	VSUBPD(pairMem(x.sts[:k]), y, y) // - (s_t - max)
	s := atanhSeries(p, et, o, XMM(), XMM(), XMM(), pairSeriesTop)
	Comment("Blend: the series where 1/2 <= e_t and O <= 0.4 e_t.")
	ka, kb := XMM(), XMM()
	VMULPD(p.F64("l1p_04", 0.4), et, kb)
	VCMPPD(U8(cmpLEOQ), kb, o, kb) // O <= 0.4 e_t
	VMOVUPD(p.F64("half64", 0.5), ka)
	VCMPPD(U8(cmpLEOQ), et, ka, ka) // 1/2 <= e_t
	VANDPD(kb, ka, ka)
	VBLENDVPD(ka, s, y, y)
	VMOVSD(y, Mem{Base: x.lossp})
	if k > 1 {
		VMOVHPD(y, Mem{Base: x.lossp, Disp: 8})
	}
	return o, z
}

// pairDS returns each slot's ds factor g/Z broadcast to a vector, and
// ds[t] = -g * (O/Z) in lane i of an XMM for slot i, as dsScale does one
// row's.
func (x *xentRows) pairDS(o, z VecVirtual, k int) (kvs []VecVirtual, dt VecVirtual) {
	p := x.p
	inv, g := XMM(), XMM()
	VMOVUPD(p.F64("one64", 1), inv)
	VDIVPD(z, inv, inv) // 1/Z
	VMOVDDUP(Load(Param("gradScale"), XMM()), g)
	kf := XMM()
	VMULPD(inv, g, kf) // g/Z
	dt = XMM()
	VMULPD(inv, o, dt)
	VMULPD(g, dt, dt)
	VXORPD(p.F64("signbit64", math.Copysign(0, -1)), dt, dt)
	kvs = make([]VecVirtual, k)
	for i := range kvs {
		l := kf
		if i == 1 {
			l = XMM()
			VUNPCKHPD(kf, kf, l)
		}
		kvs[i] = x.isa.Vec()
		VBROADCASTSD(l, kvs[i])
	}
	return kvs, dt
}

// pairStoreDT stores lane i of dt at slot i's target in ds.
func (x *xentRows) pairStoreDT(dt VecVirtual, k int) {
	for i := 0; i < k; i++ {
		b, t := x.targetAddr(x.dsp, i)
		m := Mem{Base: b, Index: t, Scale: 8}
		if i == 0 {
			VMOVSD(dt, m)
		} else {
			VMOVHPD(dt, m)
		}
	}
}

// atanhSeries returns s = log1p(q) = 2 atanh(f), q = O/e_t, lane by lane:
// f = O/(2 e_t + O) (<= 1/6 where the caller takes the series), then the
// odd series up to f^top; f and f2 are its scratch.
func atanhSeries(p *Pool, et, o, f, f2, s VecVirtual, top int) VecVirtual {
	Comment("log1p's series: 2 atanh(f), f = q/(2+q) = O/(2 e_t + O) <= 1/6.")
	VADDPD(et, et, f)
	VADDPD(o, f, f)
	VDIVPD(f, o, f)
	VMULPD(f, f, f2)
	VMOVUPD(p.F64(fmt.Sprintf("l1p_c%d", top), 1/float64(top)), s)
	for c := top - 2; c >= 3; c -= 2 {
		VFMADD213PD(p.F64(fmt.Sprintf("l1p_c%d", c), 1/float64(c)), f2, s)
	}
	VMULPD(f2, s, s)
	VADDPD(f, f, f)
	VFMADD213PD(f, f, s) // 2f + 2f*f2*s
	return s
}
