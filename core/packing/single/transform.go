package single

import (
	"fmt"
	"math/bits"
	"sort"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// transform is the diagonal linear transformation of an affine layer, evaluated by
// baby-step giant-step (Plan.linear): diagonal d = g + b, with g a multiple of the
// baby-step span and b below it, multiplies the input rotated by b (a baby step:
// hoisted, one decomposition for all), and the products of giant step g are summed,
// then rotated by g (a key switch of their sum). A span as wide as the
// transformation leaves one giant step, 0: every diagonal is then a hoisted rotation
// of its own and no sum is key-switched again.
type transform struct {
	// lt holds the diagonals, each encoded modulo QP in Montgomery form and rotated
	// by minus its giant step (Lattigo's encoding for baby-step giant-step, span lt.N1).
	lt he.LinearTransformation
	// babies are the baby steps' rotations in slots, increasing (0 first if used).
	babies []int
	// giants are the giant steps, those that rotate first.
	giants []giantStep
}

// giantStep is one giant step: its rotation in slots and, for each of its diagonals,
// the baby step it multiplies (an index into transform.babies) and the diagonal.
type giantStep struct {
	rotation int
	babies   []int
	diags    []ringqp.Poly
}

// giantStepCost is what a rotating giant step costs beyond reading its Galois key,
// in units of one hoisted key product (reading a Galois key at the transformation's
// level, which is what a baby step costs): the division of its sum by P and the
// sum's decomposition, about two (measured at the shipped model's levels).
const giantStepCost = 2

// bsgsSpan returns the baby-step span (a power of two up to width) that costs least
// for the diagonals (rotations in [0, width)), in key products: a baby step per
// nonzero rotation below the span that some diagonal needs, and giantStepCost+1 per
// nonzero giant step. Ties go to the wider span (fewer key switches on the critical path).
func bsgsSpan(diags []int, width int) int {
	best, bestCost := width, -1
	for span := width; span >= 1; span >>= 1 {
		_, giants, babies := he.BSGSIndex(diags, width, span)
		cost := (1+giantStepCost)*nonzero(giants) + nonzero(babies)
		if bestCost < 0 || cost < bestCost {
			best, bestCost = span, cost
		}
	}
	return best
}

// nonzero counts the nonzero values of v.
func nonzero(v []int) int {
	n := 0
	for _, x := range v {
		if x != 0 {
			n++
		}
	}
	return n
}

// newTransform encodes the diagonals (indexed by rotation in slots, possibly
// negative, each width slots long and repeating over the rest of the slots) at the
// level and scale, for baby-step giant-step with the given span (a power of two up to
// width; 0 chooses the cheapest, bsgsSpan).
func newTransform(prm hefloat.Parameters, ecd *hefloat.Encoder, diags hefloat.Diagonals[float64], width, level int, scale rlwe.Scale, span int) (*transform, error) {
	ltp := hefloat.LinearTransformationParameters{
		DiagonalsIndexList:       diags.DiagonalsIndexList(),
		Level:                    level,
		Scale:                    scale,
		LogDimensions:            ring.Dimensions{Rows: 0, Cols: bits.Len(uint(width)) - 1},
		LogBabyStepGianStepRatio: -1, // one polynomial per diagonal, keyed by its rotation in [0, width)
	}
	lt := hefloat.NewLinearTransformation(prm, ltp)
	index := make([]int, 0, len(lt.Vec))
	for d := range lt.Vec {
		index = append(index, d)
	}
	if span == 0 {
		span = bsgsSpan(index, width)
	}
	lt.N1 = span
	if err := hefloat.EncodeLinearTransformation[float64](ecd, diags, lt); err != nil {
		return nil, fmt.Errorf("encoding the linear transformation: %w", err)
	}
	t := &transform{lt: he.LinearTransformation(lt)}
	byGiant, giants, babies := t.lt.BSGSIndex()
	t.babies = babies
	position := map[int]int{}
	for i, b := range babies {
		position[b] = i
	}
	// Rotating giant steps first: they take longest (Plan.linear shares them out in order).
	sort.SliceStable(giants, func(i, j int) bool { return giants[i] != 0 && giants[j] == 0 })
	for _, g := range giants {
		gs := giantStep{rotation: g}
		for _, b := range byGiant[g] {
			gs.babies = append(gs.babies, position[b])
			gs.diags = append(gs.diags, t.lt.Vec[g+b])
		}
		t.giants = append(t.giants, gs)
	}
	return t, nil
}

// term returns term i of gs's products (see mulAddQP): the baby step of its diagonal
// i, and the diagonal.
func (gs *giantStep) term(rotated []*qpElement) func(i int) (a0, a1, b ringqp.Poly) {
	return func(i int) (a0, a1, b ringqp.Poly) {
		r := rotated[gs.babies[i]]
		return r.Value[0], r.Value[1], gs.diags[i]
	}
}

// rotations returns the slot rotations whose Galois keys the transformation needs:
// its nonzero baby and giant steps.
func (t *transform) rotations() []int {
	var out []int
	for _, b := range t.babies {
		if b != 0 {
			out = append(out, b)
		}
	}
	for _, g := range t.giants {
		if g.rotation != 0 {
			out = append(out, g.rotation)
		}
	}
	return out
}

// nonzeroGiants counts the giant steps that rotate.
func (t *transform) nonzeroGiants() int {
	n := 0
	for _, g := range t.giants {
		if g.rotation != 0 {
			n++
		}
	}
	return n
}

// linear sets out to the transformation t of ct, at ct's level (or t's, if lower) and
// scale ct.Scale·t's scale, by baby-step giant-step on the kernels: one decomposition
// of ct for every baby step (a hoisted key switch each, kept modulo QP; baby step 0 is
// ct times P), then for each giant step the products of its diagonals with its baby
// steps, summed modulo QP, and, for a rotating giant step, that sum's c1 divided by P,
// decomposed and key-switched under the giant step's rotation; the giant steps are
// summed modulo QP and divided by P once. The baby steps, then the giant steps, are
// shared between the two goroutines, each taking the next as it finishes one.
func (p *Plan) linear(ws *workspace, ct *rlwe.Ciphertext, t *transform, out *rlwe.Ciphertext) error {
	evals := ws.evals
	level := min(ct.Level(), t.lt.Level)
	rotated := ws.babies
	// The rotating baby steps, which follow baby step 0 if it is used.
	rotations := t.babies
	if rotations[0] == 0 {
		rotations = rotations[1:]
	}
	if len(rotations) > 0 {
		decomp := evals[0].GetBuffDecompQP()
		if err := p.decompose(ws, level, ct.Value[1], decomp); err != nil {
			return err
		}
		skip := len(t.babies) - len(rotations)
		if err := p.rotateHoisted(ws, level, ct, decomp, rotations, func(_, i int) *qpElement { return rotated[skip+i] }, false); err != nil {
			return err
		}
	}
	if t.babies[0] == 0 {
		// Baby step 0: ct·P, which is 0 modulo P.
		for k := range 2 {
			for l := range level + 1 {
				row := rotated[0].Value[k].Q.Coeffs[l]
				clear(row)
				p.keys.chain.Arith(l).MulConstAdd(row, ct.Value[k].Coeffs[l], p.keys.PModQ(l))
			}
			clear(rotated[0].Value[k].P.Coeffs[0])
		}
	}
	// Each giant step's products summed, row by row over every giant step (a row of
	// the baby steps serves them all while in cache): a rotating one's into its own
	// sum, giant step 0's straight into acc[0].
	acc, sums := ws.acc, ws.sums
	clearQP(level, acc[0])
	clearQP(level, acc[1])
	if err := ws.shared(level+2, func(_, r int) error {
		for g := range t.giants {
			gs := &t.giants[g]
			if gs.rotation == 0 {
				p.keys.mulAddQP(level, [2]ringqp.Poly(acc[0].Value), len(gs.diags), gs.term(rotated), true, r, level+2)
				continue
			}
			p.keys.mulAddQP(level, [2]ringqp.Poly(sums[g].Value), len(gs.diags), gs.term(rotated), false, r, level+2)
		}
		return nil
	}); err != nil {
		return err
	}
	// The rotating giant steps' key switches two at a time, one per goroutine, an odd
	// last one on both.
	rotating := t.nonzeroGiants()
	if err := ws.shared(rotating&^1, func(h, g int) error {
		return p.giant(ws, level, &t.giants[g], sums[g], acc[h], h, false)
	}); err != nil {
		return err
	}
	if rotating%2 == 1 {
		if err := p.giant(ws, level, &t.giants[rotating-1], sums[rotating-1], acc[0], 0, true); err != nil {
			return err
		}
	}
	*out.MetaData = *ct.MetaData
	out.Scale = ct.Scale.Mul(t.lt.Scale)
	out.Resize(1, level)
	for _, v := range out.Value {
		for _, row := range v.Coeffs {
			clear(row)
		}
	}
	return p.modDownThenAdd(ws, out, acc[0], acc[1])
}

// giant adds the rotating giant step gs, whose products are summed in sum, to acc,
// modulo QP: the sum's c1 divided by P, decomposed (goroutine h's evaluator's
// buffers) and multiplied by the Galois key of the giant step's rotation, its c0
// added to the key product (ws.tmp[h]), and the automorphism of the result.
// Goroutine h does it alone, or, with both set, it shares the decomposition and the
// key product with the other goroutine by digits and rows.
func (p *Plan) giant(ws *workspace, level int, gs *giantStep, sum, acc *qpElement, h int, both bool) error {
	parts := func(f func(first, step int) error) error {
		if !both {
			return f(0, 1)
		}
		return ws.twoWay(func(g int) error { return f(g, 2) })
	}
	eval, tmp := ws.evals[h], ws.tmp[h]
	// c1 back modulo Q and decomposed; c0 stays modulo QP and joins the key product.
	p.keys.divideByP(level, sum.Value[1], ws.rows[h])
	decomp := eval.GetBuffDecompQP()
	if err := parts(func(first, step int) error {
		p.keys.decomposeDigits(level, sum.Value[1].Q, eval.BuffInvNTT, decomp, first, step)
		return nil
	}); err != nil {
		return err
	}
	gk, index, err := p.galoisKey(eval, p.params.GaloisElement(gs.rotation))
	if err != nil {
		return err
	}
	return parts(func(first, step int) error {
		if err := p.keyProduct(level, &gk.GadgetCiphertext, decomp, tmp, first, step); err != nil {
			return err
		}
		for r := first; r <= level+1; r += step {
			a := p.keys.rowArith(level, r)
			c0 := qpRow(tmp.Value[0], level, r)
			a.Add(c0, c0, qpRow(sum.Value[0], level, r))
			for k := range 2 {
				a.Permute(qpRow(acc.Value[k], level, r), qpRow(tmp.Value[k], level, r), index, true)
			}
		}
		return nil
	})
}
