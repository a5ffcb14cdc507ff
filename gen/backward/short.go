// Rows shorter than one vector.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// shortRows handles rows shorter than one vector (cols < lanes); tail holds
// the lane mask of one row. Rows of at most half a vector (on AVX-512 all
// that come here: longer ones go to quadRows) take shortRun's scan form:
// groups of whole rows per vector where they can (shortGroups), and every
// row, grouped or not, summed by the same segmented scan, so that a row's
// bits do not depend on whether it fell into a group. Longer rows (AVX2)
// take the plain form: one row at a time, summed across lanes (shortSum).
func (g *gen) shortRows(rowBytes, end Register) {
	if !g.AVX512 {
		CMPQ(rowBytes, U32(g.VB/2))
		JA(LabelRef("wideShortRows"))
	}
	g.shortRun(rowBytes, end, scanRows)
	if !g.AVX512 {
		g.shortRun(rowBytes, end, wideRows)
	}
}

// shortForm is a form of shortRows.
type shortForm int

const (
	scanRows shortForm = iota // rows of at most half a vector: the segmented scan, with groups
	wideRows                  // AVX2 rows over half a vector: one at a time, joined with the row before
)

// shortRun emits one form of shortRows (see there), scan or plain. Each
// row is read at its start: with whole-vector loads (lanes past the row
// dropped) where the vector lies inside the slices, else with masked loads.
// Rows that start within the first vector of the matrix are written with a
// masked store. After them (and after the groups of shortGroups), a
// register w carries the last vector written (final values); each row's
// results are shifted in at its top end, and w is stored as the full
// vector that ends at the row's end: it rewrites the elements of earlier
// rows with their own final values, never touches a later row, and never
// reads memory a nearby store wrote. In the scan form the rows other than
// the groups' are at most those of the first and the last vector of the
// matrix, and take masked loads.
func (g *gen) shortRun(rowBytes, end Register, form shortForm) {
	s := &shortLoop{gen: g, scan: form == scanRows, rowBytes: rowBytes, end: end}
	if !s.scan {
		s.pfx = "wide"
	}
	Label(s.lbl("ShortRows"))
	start := GP64()
	MOVQ(g.ds, start)
	ADDQ(U32(g.VB), start)
	s.loadShiftIndex()
	if s.scan {
		s.sc = g.scanTables(rowBytes)
	}
	s.headRows(start)

	Label(s.lbl("headDone"))
	s.w = g.Vec()
	g.dt.MOVU(Mem{Base: g.ds, Disp: -g.VB}, s.w)
	if s.scan {
		g.shortGroups(s.sc, rowBytes, end, s.w)
	}
	s.pipelinedRows()
}

// shortLoop is what the passes of one form of shortRun share.
type shortLoop struct {
	*gen
	scan          bool   // the scan form (scanRows)
	pfx           string // the labels' prefix: "" or "wide"
	rowBytes, end Register
	idx           VecVirtual  // the shift index (loadShiftIndex)
	sc            *scanTables // the scan form's tables
	w             VecVirtual  // the last vector written
	sets          [2]*medSet  // the pipelined rows' registers
	idx2, hi      VecVirtual  // wideRows: the join tables (see joinTables)
	prev          VecVirtual  // wideRows: the row before's results
}

// rowLoad is how a short row's p and dp are read.
type rowLoad int

const (
	maskedLoad rowLoad = iota // masked loads
	wholeLoad                 // a whole vector from the row's start, inside the slices: lanes past the row dropped
)

// rowJoin is how pass 2 of a short row merges its results into w.
type rowJoin int

const (
	throughW rowJoin = iota // shifted in at w's top end
	withPrev                // AVX2 wideRows: from the row before's results and this row's (see joinTables), no chain through w
)

// lbl is name with the form's prefix.
func (s *shortLoop) lbl(name string) string { return s.pfx + name }

// loadShiftIndex loads the index that shifts a row's results in at the
// top end of w.
func (s *shortLoop) loadShiftIndex() {
	g := s.gen
	Comment("Shift index: lane j of the new vector takes lane j+cols of (w, row).")
	s.idx = g.Vec()
	tbl := GP64()
	switch {
	case g.AVX512 && g.dt.Size == 4:
		LEAQ(iota32, tbl)
	case g.AVX512:
		LEAQ(iota64, tbl)
	default:
		LEAQ(rot8, tbl)
	}
	VMOVUPS(Mem{Base: tbl, Index: s.rowBytes, Scale: 1}, s.idx)
}

// rowE leaves +e of the row whose p and dp are in pv and dv in the row's
// lanes of ne; with wholeLoad, lanes past the row hold other data.
func (s *shortLoop) rowE(pv, dv, ne VecVirtual, load rowLoad) {
	g := s.gen
	saved := g.ne
	g.ne = ne
	switch {
	case s.scan:
		g.rowScan(s.sc, pv, dv, s.rowBytes)
	case load == wholeLoad:
		g.shortSumPlain(pv, dv)
	default:
		g.shortSum(pv, dv)
	}
	g.ne = saved
}

// headRows emits the loop over the rows that start in the first vector
// of the matrix (before start): masked loads and a masked store.
func (s *shortLoop) headRows(start Register) {
	g := s.gen
	Label(s.lbl("head"))
	Comment("Rows starting in the first vector: masked store.")
	CMPQ(g.ds, start)
	JAE(LabelRef(s.lbl("headDone")))
	pv, dv := g.Vec(), g.Vec()
	g.loadTail(Mem{Base: g.p}, pv)
	g.loadTail(Mem{Base: g.dp}, dv)
	s.rowE(pv, dv, g.ne, maskedLoad)
	g.out(pv, dv, Mem{Base: g.ds}, posE, storeMasked)
	g.nextRow()
	CMPQ(g.p, s.end)
	JB(LabelRef(s.lbl("head")))
	JMP(LabelRef("done"))
}

// pass1 runs pass 1 of the row at p (+ index) into set.
func (s *shortLoop) pass1(index Register, set *medSet, load rowLoad) {
	g := s.gen
	m := Mem{Base: g.p}
	dm := Mem{Base: g.dp}
	if index != nil {
		m.Index, m.Scale = index, 1
		dm.Index, dm.Scale = index, 1
	}
	if load == wholeLoad {
		g.dt.MOVU(m, set.p[0])
		g.dt.MOVU(dm, set.dp[0])
	} else {
		g.loadTail(m, set.p[0])
		g.loadTail(dm, set.dp[0])
	}
	s.rowE(set.p[0], set.dp[0], set.ne, load)
}

// pass2 runs pass 2 of the row whose pass 1 filled set, merges its
// results into w as join says and stores w as the vector that ends the
// row.
func (s *shortLoop) pass2(set *medSet, load rowLoad, join rowJoin) {
	g, w, vb := s.gen, s.w, s.VB
	saved := g.ne
	g.ne = set.ne
	g.plainDS = load == wholeLoad
	r := g.out(set.p[0], set.dp[0], Mem{Base: g.ds}, posE, keep)
	g.plainDS = false
	g.ne = saved
	if g.AVX512 {
		if g.dt.Size == 4 {
			VPERMT2PS(r, s.idx, w)
		} else {
			VPERMT2PD(r, s.idx, w)
		}
	} else if join == withPrev {
		b := g.Vec()
		VPERMPS(s.prev, s.idx2, w)
		VPERMPS(r, s.idx2, b)
		VBLENDVPS(s.hi, b, w, w)
	} else {
		if g.dt.Size == 4 {
			VBLENDVPS(g.vTail, r, w, w)
		} else {
			VBLENDVPD(g.vTail, r, w, w)
		}
		VPERMPS(w, s.idx, w)
	}
	if !s.scan {
		g.dt.MOVU(r, s.prev)
	}
	g.dt.MOVU(w, Mem{Base: g.ds, Index: s.rowBytes, Scale: 1, Disp: -vb})
}

// loadJoinTables builds and loads wideRows' join tables.
func (s *shortLoop) loadJoinTables() {
	g, vb := s.gen, s.VB
	Comment("Join tables for rows over half a vector.")
	cols := GP64()
	MOVQ(s.rowBytes, cols)
	SHRQ(U8(uint8(g.dt.Shift)), cols)
	g.joinTables(cols, g.loc.Offset(2*vb), g.loc.Offset(3*vb), "rowsIdx")
	s.idx2, s.hi, s.prev = g.Vec(), g.Vec(), g.Vec()
	g.movdqu(g.loc.Offset(2*vb), s.idx2)
	g.movdqu(g.loc.Offset(3*vb), s.hi)
}

// shortWindow is one copy of the pipelined loop: its label, how it reads
// the rows and how it joins them.
type shortWindow struct {
	name string
	load rowLoad
	join rowJoin
}

// pipelinedRows emits the rest of the rows, software-pipelined: pass 1 of
// the next row, then pass 2 of this one, in copies of the loop (see
// shortWindow) and the last row's pass 2.
func (s *shortLoop) pipelinedRows() {
	g, vb := s.gen, s.VB
	Comment("Software-pipelined: pass 1 of the next row, then pass 2 of this one.")
	s.sets = [2]*medSet{
		{ne: g.Vec(), p: []VecVirtual{g.Vec()}, dp: []VecVirtual{g.Vec()}},
		{ne: g.Vec(), p: []VecVirtual{g.Vec()}, dp: []VecVirtual{g.Vec()}},
	}
	// AVX2 rows over half a vector: the row-ending vector from the row
	// before and this one (see joinTables), no chain through w.
	if !s.scan {
		s.loadJoinTables()
	}
	s.pass1(nil, s.sets[0], maskedLoad)
	if !s.scan {
		Comment("One row with the join through w; then the loop that joins",
			"with the row before.")
		next := GP64()
		LEAQ(Mem{Base: g.p, Index: s.rowBytes, Scale: 1}, next)
		CMPQ(next, s.end)
		JAE(LabelRef(s.lbl("windowLast0")))
		s.pass1(s.rowBytes, s.sets[1], maskedLoad)
		s.pass2(s.sets[0], maskedLoad, throughW)
		g.nextRow()
		JMP(LabelRef(s.lbl("windowFree1")))
	}
	// Copies of the loop: whole-vector loads while the vector from the
	// next row's start ends inside the slices (joined through w, or on
	// AVX2 with the row before), then masked loads.
	windows := []shortWindow{{"windowMasked", maskedLoad, throughW}}
	if !s.scan {
		windows = []shortWindow{
			{"windowPlain", wholeLoad, throughW},
			{"windowMasked", maskedLoad, throughW},
			{"windowFree", wholeLoad, withPrev},
		}
	}
	for _, win := range windows {
		loop := s.lbl(win.name)
		Label(loop)
		for h := 0; h < 2; h++ {
			Label(fmt.Sprintf("%s%d", loop, h))
			next := GP64()
			LEAQ(Mem{Base: g.p, Index: s.rowBytes, Scale: 1}, next)
			CMPQ(next, s.end)
			JAE(LabelRef(fmt.Sprintf("%s%d", s.lbl("windowLast"), h)))
			if win.load == wholeLoad {
				ADDQ(U32(vb), next)
				CMPQ(next, s.end)
				JA(LabelRef(fmt.Sprintf("%s%d", s.lbl("windowMasked"), h)))
			}
			s.pass1(s.rowBytes, s.sets[1-h], win.load)
			s.pass2(s.sets[h], win.load, win.join)
			g.nextRow()
		}
		JMP(LabelRef(loop))
	}
	for h := 0; h < 2; h++ {
		Label(fmt.Sprintf("%s%d", s.lbl("windowLast"), h))
		s.pass2(s.sets[h], maskedLoad, throughW)
		JMP(LabelRef("done"))
	}
}

// shortSumPlain is shortSum for whole vectors loaded from the row's start:
// the products of lanes past the row (other rows' data, maybe Inf or NaN)
// are zeroed before the sum.
func (g *gen) shortSumPlain(pv, dv VecVirtual) {
	if g.AVX512 {
		g.dt.MULZ(pv, dv, g.kTail, g.ne)
	} else {
		g.dt.MUL(pv, dv, g.ne)
		if g.dt.Size == 4 {
			VANDPS(g.vTail, g.ne, g.ne)
		} else {
			VANDPD(g.vTail, g.ne, g.ne)
		}
	}
	g.allSum(g.ne, g.elemLanes())
}

// shortSum sums the products of one masked row (fewer than one vector of
// elements) in registers and leaves +e in every lane of g.ne; pass 2 then
// subtracts it from dp, which is in a register. The sum is taken in the
// element type: at most 16 products, so e is off by at most 5 ulps of
// sum_j |p*dp| (product rounding and a 4-level tree), well inside the bound.
// Every step adds a lane-permuted copy, so all lanes end with the same sum
// (addition commutes exactly) and no broadcast is needed.
func (g *gen) shortSum(pv, dv VecVirtual) {
	g.dt.MUL(pv, dv, g.ne)
	g.allSum(g.ne, g.elemLanes())
}

// laneType is the element type allSum adds lanes in.
type laneType int

const (
	f32Lanes laneType = iota
	f64Lanes
)

// elemLanes is the laneType of the kernel's element type.
func (g *gen) elemLanes() laneType {
	if g.dt.Size == 8 {
		return f64Lanes
	}
	return f32Lanes
}

// allSum sums the lanes of m (float64 or float32 lanes, as lanes says)
// into every lane of m: each step adds a lane-permuted copy, so all lanes
// end with bitwise the same sum (addition commutes exactly).
func (g *gen) allSum(m VecVirtual, lanes laneType) {
	f64 := lanes == f64Lanes
	sw := g.Vec()
	add := VADDPS
	if f64 {
		add = VADDPD
	}
	step := func() { add(sw, m, m) }
	if g.AVX512 {
		if f64 {
			VSHUFF64X2(U8(0x4e), m, m, sw)
			step()
			VSHUFF64X2(U8(0xb1), m, m, sw)
			step()
		} else {
			VSHUFF32X4(U8(0x4e), m, m, sw)
			step()
			VSHUFF32X4(U8(0xb1), m, m, sw)
			step()
		}
	} else {
		VPERM2F128(U8(0x01), m, m, sw)
		step()
	}
	if f64 {
		VPERMILPD(U8(0x55), m, sw)
		step()
	} else {
		VPERMILPS(U8(0x4e), m, sw)
		step()
		VPERMILPS(U8(0xb1), m, sw)
		step()
	}
}

// scanTables are the per-call tables of the segmented scan (see
// shortGroups) for rows of cols <= lanes/2 columns, which the groups and
// the single rows (rowScan) share.
type scanTables struct {
	steps   int      // the most scan steps: 2^steps = lanes/2
	cols, G Register // G = k*cols, the elements of a group
	posMem  Mem      // lane j's position in its row
	endMem  Mem      // the lane that ends lane j's row
	kMasks  []Op     // AVX-512: lanes whose position is >= 2^step
	vMasks  []Mem    // AVX2: the same as vectors, in the frame
	shIdx   []VecVirtual
	bidx    VecVirtual // AVX-512: endMem in a register
	pairs   bool       // AVX2 float64: permuted as pairs of float32
}

// scanTables builds the scan's per-call tables in the frame: the position
// of each lane in its row and the lane that ends its row, for rows packed
// from lane 0, k = lanes/cols of them (G = k*cols), and the step masks
// (lane position >= s). On AVX-512 the masks, shift indexes and row-end
// index stay in registers; AVX2 keeps the masks in the frame and loads the
// rest where it needs them.
func (g *gen) scanTables(rowBytes Register) *scanTables {
	vb := g.VB
	L := g.lanes
	sc := &scanTables{posMem: g.loc, endMem: g.loc.Offset(vb), pairs: !g.AVX512 && g.dt.Size == 8}
	for 1<<sc.steps < L/2 {
		sc.steps++
	}
	Comment("Per-call tables: position of each lane in its row and the lane that ends its row; G = k*cols.")
	posMem, endMem, pairs := sc.posMem, sc.endMem, sc.pairs
	cols, j, seg, segEnd, G, v := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	sc.cols, sc.G = cols, G
	MOVQ(rowBytes, cols)
	SHRQ(U8(uint8(g.dt.Shift)), cols)
	XORQ(j, j)
	XORQ(seg, seg)
	LEAQ(Mem{Base: cols, Disp: -1}, segEnd)
	XORQ(G, G)
	Label("groupsTable")
	if g.dt.Size == 4 {
		MOVL(seg.As32(), Mem{Base: posMem.Base, Index: j, Scale: 4, Disp: posMem.Disp})
		MOVL(segEnd.As32(), Mem{Base: endMem.Base, Index: j, Scale: 4, Disp: endMem.Disp})
	} else if pairs {
		MOVQ(seg, Mem{Base: posMem.Base, Index: j, Scale: 8, Disp: posMem.Disp})
		LEAQ(Mem{Base: segEnd, Index: segEnd, Scale: 1}, v)
		MOVL(v.As32(), Mem{Base: endMem.Base, Index: j, Scale: 8, Disp: endMem.Disp})
		INCQ(v)
		MOVL(v.As32(), Mem{Base: endMem.Base, Index: j, Scale: 8, Disp: endMem.Disp + 4})
	} else {
		MOVQ(seg, Mem{Base: posMem.Base, Index: j, Scale: 8, Disp: posMem.Disp})
		MOVQ(segEnd, Mem{Base: endMem.Base, Index: j, Scale: 8, Disp: endMem.Disp})
	}
	INCQ(j)
	INCQ(seg)
	CMPQ(seg, cols)
	JB(LabelRef("groupsTableNext"))
	XORQ(seg, seg)
	ADDQ(cols, segEnd)
	MOVQ(j, G) // a row ends at lane j-1
	Label("groupsTableNext")
	CMPQ(j, U32(L))
	JB(LabelRef("groupsTable"))

	Comment("Scan masks (lane position >= s) and, on AVX-512, shift indexes.")
	pos := g.Vec()
	g.movdqu(posMem, pos)
	for st := 0; st < sc.steps; st++ {
		sv := 1 << st
		bc := g.Vec()
		if g.dt.Size == 4 {
			VPBROADCASTD(iota32.Offset(4*(sv-1)), bc)
		} else {
			VPBROADCASTQ(iota64.Offset(8*(sv-1)), bc)
		}
		if g.AVX512 {
			k := K()
			if g.dt.Size == 4 {
				VPCMPGTD(bc, pos, k)
			} else {
				VPCMPGTQ(bc, pos, k)
			}
			sc.kMasks = append(sc.kMasks, k)
			idx := g.Vec()
			g.shiftIndex(sc, st, idx)
			sc.shIdx = append(sc.shIdx, idx)
		} else {
			m := g.loc.Offset(4*vb + st*vb)
			if pairs {
				VPCMPGTQ(bc, pos, bc)
			} else {
				VPCMPGTD(bc, pos, bc)
			}
			g.movdqu(bc, m)
			sc.vMasks = append(sc.vMasks, m)
		}
	}
	if g.AVX512 {
		sc.bidx = g.Vec()
		g.movdqu(endMem, sc.bidx)
	}
	return sc
}

// shiftIndex loads the permute index of scan step st: lane j takes lane
// j - 2^st (lanes below wrap around; the masks drop them).
func (g *gen) shiftIndex(sc *scanTables, st int, idx VecVirtual) {
	sv := 1 << st
	switch {
	case g.dt.Size == 4:
		g.movdqu(seg32.Offset(4*(16-sv)), idx)
	case sc.pairs:
		g.movdqu(seg32.Offset(4*(16-2*sv)), idx)
	default:
		g.movdqu(seg64.Offset(8*(8-sv)), idx)
	}
}

// scanStep is step st of the segmented scan of x: lane j adds lane j - 2^st
// where that lies in its row (AVX2: adds +0 elsewhere, as the group does).
func (g *gen) scanStep(sc *scanTables, st int, x, idx VecVirtual) {
	sh := g.Vec()
	if g.dt.Size == 4 || sc.pairs {
		VPERMPS(x, idx, sh)
	} else {
		VPERMPD(x, idx, sh)
	}
	if g.AVX512 {
		g.dt.ADD(sh, x, sc.kMasks[st], x)
	} else {
		VANDPS(sc.vMasks[st], sh, sh)
		g.dt.ADD(sh, x, x)
	}
}

// rowScan sums one row of pv*dv (lanes from 0, cols <= lanes/2) with the
// scan steps a group of rows this long takes, and leaves +e in the row's
// lanes of g.ne: the row's lanes are segment 0 of the tables, and a lane
// only ever adds lanes below it in its row, so the lanes past the row
// (zeros, or other rows' data with whole-vector loads) never count, and
// the row's bits are those it gets in a group. AVX2 skips the steps the
// group skips (2^st >= cols; there a step would add +0 to a -0); on
// AVX-512 those steps add nothing to the row (masked off).
func (g *gen) rowScan(sc *scanTables, pv, dv VecVirtual, rowBytes Register) {
	x := g.Vec()
	g.dt.MUL(pv, dv, x)
	g.scans++
	done := fmt.Sprintf("rowScanDone%d", g.scans)
	for st := 0; st < sc.steps; st++ {
		if g.AVX512 {
			g.scanStep(sc, st, x, sc.shIdx[st])
			continue
		}
		CMPQ(rowBytes, U32((1<<st)*g.dt.Size))
		JBE(LabelRef(done))
		idx := g.Vec()
		g.shiftIndex(sc, st, idx)
		g.scanStep(sc, st, x, idx)
	}
	bidx := sc.bidx
	if !g.AVX512 {
		Label(done)
		bidx = g.Vec()
		g.movdqu(sc.endMem, bidx)
	}
	if g.dt.Size == 4 || sc.pairs {
		VPERMPS(x, bidx, g.ne)
	} else {
		VPERMPD(x, bidx, g.ne)
	}
}

// shortGroups handles, while a whole vector from the current row's start
// lies inside the slices, rows of at most half a vector k = lanes/cols at a
// time: one load per input for G = k*cols elements (k whole rows), the
// products with lanes from G on zeroed, a segmented inclusive scan (lane j
// adds lane j-s when j-s is in its row, s = 1, 2, 4, ...) that leaves each
// row's sum in its last lane (a tree of depth log2(cols) per row), a
// permute that copies it over the row, and pass 2 on the whole vector. The
// vector that ends at the group's end is stored: for the first group, its
// results joined to w (the last vector written, see shortRows) by one
// two-table permute (AVX2: blend and rotate); after it, the last lanes of
// the group before and this group's results (2G >= lanes), so no chain of
// permutes runs from group to group. Each store rewrites earlier elements
// with their final values and never reaches past the group; the next
// group's loads start where it ends. The scan has one copy of the loops per
// length (2^steps >= cols: an extra step costs too much to share
// one copy; bench/TUNING.md). The per-call tables
// (scanTables; here also the join index) are built in the frame by scalar
// loops. On exit w holds the last vector stored and the rows left, if any,
// go on to the per-row loop, which sums them by the same scan (rowScan).
func (g *gen) shortGroups(sc *scanTables, rowBytes, end Register, w VecVirtual) {
	q := &groupLoop{gen: g, sc: sc, w: w, shIdx: sc.shIdx, bidx: sc.bidx}
	if !g.AVX512 {
		q.loadScanRegs()
	}
	q.loadGroupRegs()
	q.last = GP64()
	MOVQ(end, q.last)
	SUBQ(U32(g.VB), q.last)
	q.loadJoinRegs()

	// One copy of the loops per scan length, 2^steps >= cols.
	steps, cols := sc.steps, sc.cols
	for st := 0; st < steps; st++ {
		CMPQ(cols, U32(1<<st))
		JBE(LabelRef(fmt.Sprintf("groupsFirst%d", st)))
	}
	JMP(LabelRef(fmt.Sprintf("groupsFirst%d", steps)))
	for st := 0; st <= steps; st++ {
		q.loops(st)
	}
	Label("groupsDone")
	CMPQ(g.p, end)
	JAE(LabelRef("done"))
}

// groupLoop is what shortGroups' loops share: the scan's tables and
// registers, the group's length and masks, the join's tables and w.
type groupLoop struct {
	*gen
	sc     *scanTables
	shIdx  []VecVirtual // the scan steps' shift indexes
	bidx   VecVirtual   // the row-end index
	gBytes Register     // G elements in bytes
	last   Register     // the last start of a whole vector inside the slices
	kG     Op           // AVX-512: lanes 0..G-1
	vG     VecVirtual   // AVX2: lanes 0..G-1
	gIdx   VecVirtual   // the first group's join with w
	idx2   VecVirtual   // later groups' join (see joinTables)
	hi     VecVirtual   // AVX2: the join's blend mask
	w      VecVirtual   // the last vector written
}

// loadScanRegs loads AVX2's shift indexes and row-end index into
// registers (AVX-512's scanTables left them there).
func (q *groupLoop) loadScanRegs() {
	g := q.gen
	Comment("Shift indexes and the row-end index into registers.")
	for st := 0; st < q.sc.steps; st++ {
		idx := g.Vec()
		g.shiftIndex(q.sc, st, idx)
		q.shIdx = append(q.shIdx, idx)
	}
	q.bidx = g.Vec()
	g.movdqu(q.sc.endMem, q.bidx)
}

// loadGroupRegs sets gBytes, the mask of a group's G lanes and the index
// that joins the first group to w.
func (q *groupLoop) loadGroupRegs() {
	g, G := q.gen, q.sc.G
	gBytes := GP64()
	MOVQ(G, gBytes)
	SHLQ(U8(uint8(g.dt.Shift)), gBytes)
	q.gBytes = gBytes
	q.gIdx = g.Vec()
	tbl := GP64()
	if g.AVX512 {
		LEAQ(kTable, tbl)
		k := K()
		KMOVW(Mem{Base: tbl, Index: G, Scale: 2}, k)
		q.kG = k
		if g.dt.Size == 4 {
			LEAQ(iota32, tbl)
		} else {
			LEAQ(iota64, tbl)
		}
		g.movdqu(Mem{Base: tbl, Index: gBytes, Scale: 1}, q.gIdx)
	} else {
		LEAQ(maskTable.Offset(32), tbl)
		off := GP64()
		MOVQ(gBytes, off)
		NEGQ(off)
		q.vG = YMM()
		g.movdqu(Mem{Base: tbl, Index: off, Scale: 1}, q.vG)
		LEAQ(rot8, tbl)
		g.movdqu(Mem{Base: tbl, Index: gBytes, Scale: 1}, q.gIdx)
	}
}

// loadJoinRegs builds the join tables of later groups and loads them.
func (q *groupLoop) loadJoinRegs() {
	g, vb := q.gen, q.VB
	Comment("Index (and AVX2 mask) for the vector that ends a group from the",
		"results of this group and the one before (2G >= lanes): lane j is",
		"lane j+2G-lanes of the one before for j < lanes-G, else lane j-(lanes-G) of this one.")
	idx2Mem := g.loc.Offset(2 * vb)
	hiMem := g.loc.Offset(3 * vb)
	g.joinTables(q.sc.G, idx2Mem, hiMem, "groupsIdx")
	q.idx2 = g.Vec()
	g.movdqu(idx2Mem, q.idx2)
	if !g.AVX512 {
		q.hi = g.Vec()
		g.movdqu(hiMem, q.hi)
	}
}

// group emits one group: pass 1, the scan of steps steps, pass 2; it
// returns the results.
func (q *groupLoop) group(steps int) VecVirtual {
	g := q.gen
	pv, dv, x := g.Vec(), g.Vec(), g.Vec()
	g.dt.MOVU(Mem{Base: g.p}, pv)
	g.dt.MOVU(Mem{Base: g.dp}, dv)
	if g.AVX512 {
		g.dt.MULZ(pv, dv, q.kG, x)
	} else {
		g.dt.MUL(pv, dv, x)
		VANDPS(q.vG, x, x)
	}
	for st := 0; st < steps; st++ {
		g.scanStep(q.sc, st, x, q.shIdx[st])
	}
	e := g.Vec()
	if g.dt.Size == 4 || q.sc.pairs {
		VPERMPS(x, q.bidx, e)
	} else {
		VPERMPD(x, q.bidx, e)
	}
	t := g.Vec()
	g.dt.SUB(e, dv, t) // dp - e
	r := t
	if g.form == scaled {
		// (scale*p)*(dp - e), as out's +e form.
		g.dt.MUL(g.sc, pv, pv)
		g.dt.MUL(pv, t, r)
	} else if g.adds() {
		r = g.Vec()
		g.dt.MOVU(Mem{Base: g.ds}, r)
		g.dt.FMA231(pv, t, r)
	} else {
		g.dt.MUL(pv, t, r)
	}
	return r
}

// storeW stores w as the vector that ends the group and steps the
// pointers past it.
func (q *groupLoop) storeW() {
	g := q.gen
	g.dt.MOVU(q.w, Mem{Base: g.ds, Index: q.gBytes, Scale: 1, Disp: -g.VB})
	ADDQ(q.gBytes, g.p)
	ADDQ(q.gBytes, g.dp)
	ADDQ(q.gBytes, g.ds)
}

// movdqu moves a whole vector of integers (the table entries).
func (g *gen) movdqu(a, b Op) {
	if g.AVX512 {
		VMOVDQU64(a, b)
	} else {
		VMOVDQU(a, b)
	}
}

// loops emits the first group and the loop of later groups for rows of
// at most 2^steps columns.
func (q *groupLoop) loops(steps int) {
	g, w := q.gen, q.w
	Label(fmt.Sprintf("groupsFirst%d", steps))
	Comment("First group: its vector joins w. A whole vector from p must end inside the slices.")
	CMPQ(g.p, q.last)
	JA(LabelRef("groupsDone"))
	r := q.group(steps)
	if g.AVX512 {
		if g.dt.Size == 4 {
			VPERMT2PS(r, q.gIdx, w)
		} else {
			VPERMT2PD(r, q.gIdx, w)
		}
	} else {
		VBLENDVPS(q.vG, r, w, w)
		VPERMPS(w, q.gIdx, w)
	}
	prev := g.Vec()
	g.dt.MOVU(r, prev)
	q.storeW()

	Label(fmt.Sprintf("groups%d", steps))
	Comment("Later groups: the vector from this group and the one before; no chain through w.")
	CMPQ(g.p, q.last)
	JA(LabelRef("groupsDone"))
	r = q.group(steps)
	if g.AVX512 {
		g.dt.MOVU(prev, w)
		if g.dt.Size == 4 {
			VPERMT2PS(r, q.idx2, w)
		} else {
			VPERMT2PD(r, q.idx2, w)
		}
	} else {
		b := g.Vec()
		VPERMPS(prev, q.idx2, w)
		VPERMPS(r, q.idx2, b)
		VBLENDVPS(q.hi, b, w, w)
	}
	g.dt.MOVU(r, prev)
	q.storeW()
	JMP(LabelRef(fmt.Sprintf("groups%d", steps)))
}

// joinTables writes to the frame the index (idx2Mem) and, on AVX2, the
// blend mask (hiMem, lanes from lanes-G on) that assemble the vector ending
// at the end of G new elements from the vector of the G elements before
// them (lanes 0..G-1 of one register) and the new ones (lanes 0..G-1 of
// another), for 2G >= lanes: lane j is lane j+2G-lanes of the first for
// j < lanes-G, else lane j-(lanes-G) of the second (index j+G, the second
// table). AVX2 permutes float64 as pairs of float32 (VPERMPS), so there
// each lane gets two int32 indexes.
func (g *gen) joinTables(G Register, idx2Mem, hiMem Mem, label string) {
	L := g.lanes
	pairs := !g.AVX512 && g.dt.Size == 8
	a, off2, j := GP64(), GP64(), GP64()
	MOVQ(U32(L), a)
	SUBQ(G, a) // lanes - G
	LEAQ(Mem{Base: G, Index: G, Scale: 1, Disp: -L}, off2)
	XORQ(j, j)
	Label(label)
	v := GP64()
	LEAQ(Mem{Base: j, Index: off2, Scale: 1}, v)
	hiAt := func(d int) Mem {
		if pairs {
			return Mem{Base: hiMem.Base, Index: j, Scale: 8, Disp: hiMem.Disp + d}
		}
		return Mem{Base: hiMem.Base, Index: j, Scale: 4, Disp: hiMem.Disp}
	}
	setHi := func(x uint32) {
		if g.AVX512 {
			return
		}
		MOVL(U32(x), hiAt(0))
		if pairs {
			MOVL(U32(x), hiAt(4))
		}
	}
	CMPQ(j, a)
	setHi(0)
	JB(LabelRef(label + "Store"))
	LEAQ(Mem{Base: j, Index: G, Scale: 1}, v)
	setHi(0xffffffff)
	Label(label + "Store")
	switch {
	case pairs:
		SHLQ(U8(1), v)
		MOVL(v.As32(), Mem{Base: idx2Mem.Base, Index: j, Scale: 8, Disp: idx2Mem.Disp})
		INCQ(v)
		MOVL(v.As32(), Mem{Base: idx2Mem.Base, Index: j, Scale: 8, Disp: idx2Mem.Disp + 4})
	case g.dt.Size == 4:
		MOVL(v.As32(), Mem{Base: idx2Mem.Base, Index: j, Scale: 4, Disp: idx2Mem.Disp})
	default:
		MOVQ(v, Mem{Base: idx2Mem.Base, Index: j, Scale: 8, Disp: idx2Mem.Disp})
	}
	INCQ(j)
	CMPQ(j, U32(L))
	JB(LabelRef(label))
}
