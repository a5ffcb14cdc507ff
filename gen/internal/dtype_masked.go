package internal

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// The instructions of DType that only some generators use, as methods so
// that the table's literals stay as they are.

// MOVNT is the non-temporal store of a vector (VMOVNTPS / VMOVNTPD).
func (d DType) MOVNT(r, m Op) {
	if d.Size == 4 {
		VMOVNTPS(r, m)
		return
	}
	VMOVNTPD(r, m)
}

// MOVZ is the AVX-512 zeroing-masked move: r = m in the lanes of k, 0
// elsewhere; a load never touches memory outside k's lanes.
func (d DType) MOVZ(m, k, r Op) {
	if d.Size == 4 {
		VMOVUPS_Z(m, k, r)
		return
	}
	VMOVUPD_Z(m, k, r)
}

// MULZ is the AVX-512 zeroing-masked product: r = a*b in the lanes of k,
// 0 elsewhere.
func (d DType) MULZ(a, b, k, r Op) {
	if d.Size == 4 {
		VMULPS_Z(a, b, k, r)
		return
	}
	VMULPD_Z(a, b, k, r)
}

// FMS213 is VFMSUB213PS / PD: c = b*c - a.
func (d DType) FMS213(a, b, c Op) {
	if d.Size == 4 {
		VFMSUB213PS(a, b, c)
		return
	}
	VFMSUB213PD(a, b, c)
}

// KTable returns the table of the 17 uint16 values (1<<k)-1, k = 0..16:
// the AVX-512 mask of the first k lanes, loaded by KMOVW from offset 2k.
func (p *Pool) KTable() Mem { return p.kTable() }

// Table returns the table name of the elements given, written by Flush
// (once, whatever the number of calls with that name).
func (p *Pool) Table(name string, elems []Constant) Mem { return p.ref(name, elems) }
