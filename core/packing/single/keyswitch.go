package single

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// Key switching on the kernels, shared between two goroutines and kept modulo QP
// (lazy) until one division by P at the end: a fold's rotations are summed before
// that division, so a fold of n segments costs one decomposition, n−1 key products
// and one division instead of n−1 of each.

// qpElement is a degree-1 element modulo QP (NTT domain).
type qpElement = rlwe.Element[ringqp.Poly]

// newQP returns a zero element modulo QP at the level.
func (p *Plan) newQP(level int) *qpElement {
	r := p.params.RingQP().AtLevel(level, p.params.MaxLevelP())
	return &qpElement{
		Value:    []ringqp.Poly{r.NewPoly(), r.NewPoly()},
		MetaData: &rlwe.MetaData{CiphertextMetaData: rlwe.CiphertextMetaData{IsNTT: true}},
	}
}

// clearQP zeroes x's limbs up to level and its P limb.
func clearQP(level int, x *qpElement) {
	for _, p := range x.Value {
		for _, row := range p.Q.Coeffs[:level+1] {
			clear(row)
		}
		for _, row := range p.P.Coeffs {
			clear(row)
		}
	}
}

// Rows modulo QP at a level: rows 0 … level are the primes of Q, row level+1 is P's.

// qpRow returns row r of x, modulo QP at the level.
func qpRow(x ringqp.Poly, level, r int) []uint64 {
	if r > level {
		return x.P.Coeffs[0]
	}
	return x.Q.Coeffs[r]
}

// rowArith returns the arithmetic of row r modulo QP at the level.
func (k *keySwitching) rowArith(level, r int) kernel.Arith {
	if r > level {
		return k.chain.Arith(k.nq)
	}
	return k.chain.Arith(r)
}

// addQP sets acc_o += x_o modulo QP for polynomial o.
func (k *keySwitching) addQP(level int, x, acc *qpElement, o int) {
	for r := range level + 2 {
		dst := qpRow(acc.Value[o], level, r)
		k.rowArith(level, r).Add(dst, dst, qpRow(x.Value[o], level, r))
	}
}

// modDownThenAdd sets ct += (Σ accs) / P (rounded), one polynomial on each
// goroutine; the sum is left in accs[0].
func (p *Plan) modDownThenAdd(ws *workspace, ct *rlwe.Ciphertext, accs ...*qpElement) error {
	level := ct.Level()
	return ws.twoWay(func(h int) error {
		for _, x := range accs[1:] {
			p.keys.addQP(level, x, accs[0], h)
		}
		a := accs[0].Value[h]
		p.keys.divideByP(level, a, ws.rows[h])
		for l := range level + 1 {
			p.keys.chain.Arith(l).Add(ct.Value[h].Coeffs[l], ct.Value[h].Coeffs[l], a.Q.Coeffs[l])
		}
		return nil
	})
}

// square sets ct (degree 1) to its square, relinearized: the tensor product on the
// kernels (Lattigo's, limb by limb, the limbs shared between the two goroutines), then
// the key switch of its c1² term under the relinearization key: its digits' products
// with the key are shared between the goroutines by limb.
func (p *Plan) square(ws *workspace, ct *rlwe.Ciphertext) error {
	evals := ws.evals
	rlk, err := evals[0].CheckAndGetRelinearizationKey()
	if err != nil {
		return err
	}
	level := ct.Level()
	c2 := ws.c2
	if err := ws.twoWay(func(h int) error {
		for l := h; l <= level; l += 2 {
			a := p.keys.chain.Arith(l)
			c0, c1 := ct.Value[0].Coeffs[l], ct.Value[1].Coeffs[l]
			a.Mul(c2.Coeffs[l], c1, c1)
			a.Mul(c1, c0, c1)
			a.Add(c1, c1, c1)
			a.Mul(c0, c0, c0)
		}
		return nil
	}); err != nil {
		return err
	}
	ct.Scale = ct.Scale.Mul(ct.Scale)
	decomp := evals[0].GetBuffDecompQP()
	if err := p.decompose(ws, level, c2, decomp); err != nil {
		return err
	}
	acc := ws.acc[0]
	if err := ws.twoWay(func(h int) error {
		return p.keyProduct(level, &rlk.GadgetCiphertext, decomp, acc, h, 2)
	}); err != nil {
		return err
	}
	return p.modDownThenAdd(ws, ct, acc)
}

// keySwitching is the plan's key-switching arithmetic on the kernel path: kernel's
// KeySwitch (the primes of Q then the special prime P, their transforms and
// element-wise arithmetic, the digits of the decomposition), with the row splits
// that let two goroutines share a key switch: Montgomery products of keys (and
// diagonals) with decomposed digits, summed and reduced once per limb, and the
// division by P.
type keySwitching struct {
	*kernel.KeySwitch
	chain *kernel.Rescaler // the KeySwitch's chain
	nq    int              // the number of primes of Q; P is prime nq of the chain
	// qpPrimes[l] lists the chain indices of the primes of Q up to level l, then P's.
	qpPrimes [][]int
}

func newKeySwitching(prm hefloat.Parameters) (*keySwitching, error) {
	if prm.PCount() != 1 {
		return nil, fmt.Errorf("single-image packing needs exactly one special prime, the parameters have %d", prm.PCount())
	}
	path, err := kernel.FromEnv()
	if err != nil {
		return nil, err
	}
	ks, err := kernel.NewKeySwitch(path, prm.N(), prm.Q(), prm.P()[0], prm.RingType())
	if err != nil {
		return nil, err
	}
	k := &keySwitching{KeySwitch: ks, chain: ks.Chain(), nq: ks.Special()}
	for i := range prm.Q() {
		primes := make([]int, 0, i+2)
		for l := range i + 1 {
			primes = append(primes, l)
		}
		k.qpPrimes = append(k.qpPrimes, append(primes, k.nq))
	}
	return k, nil
}

// divideByP sets a's limbs up to level to a / P (a modulo QP), rounded, in place;
// buf holds two scratch rows.
func (k *keySwitching) divideByP(level int, a ringqp.Poly, buf [][]uint64) {
	rows := append(a.Q.Coeffs[:level+1:level+1], a.P.Coeffs[0])
	k.chain.DivideByLast(rows[:level+1], rows, k.qpPrimes[level], buf)
}

// mulAddQP sets out_o = Σ_i a_oi ⊙ b_i modulo QP for o = 0, 1 and the n terms
// (a_0i, a_1i, b_i) = term(i) (Montgomery products: keys and encoded diagonals are in
// Montgomery form), plus out_o's own value if accumulate; the results are reduced.
// Each b_i is read once for both outputs. It computes rows first, first+step, … of
// the level+2 rows modulo QP, so that goroutines may share the rows.
func (k *keySwitching) mulAddQP(level int, out [2]ringqp.Poly, n int, term func(i int) (a0, a1, b ringqp.Poly), accumulate bool, first, step int) {
	var buf [3 * maxTerms][]uint64
	terms := buf[:0]
	if n > maxTerms {
		terms = make([][]uint64, 0, 3*n)
	}
	for r := first; r <= level+1; r += step {
		terms = terms[:0]
		for i := range n {
			a0, a1, b := term(i)
			terms = append(terms, qpRow(a0, level, r), qpRow(a1, level, r), qpRow(b, level, r))
		}
		k.rowArith(level, r).MontgomeryDot(qpRow(out[0], level, r), qpRow(out[1], level, r), terms, accumulate)
	}
}

// maxTerms is the most terms mulAddQP sums without allocating.
const maxTerms = 64

// keyProduct sets out = Σ_i key_i ⊙ decomp_i modulo QP, rows first, first+step, … (see
// mulAddQP): the key switch of a decomposed polynomial under the gadget ciphertext
// key, before the division by P (Lattigo's GadgetProductLazy).
func (p *Plan) keyProduct(level int, key *rlwe.GadgetCiphertext, decomp []ringqp.Poly, out *qpElement, first, step int) error {
	if key.LevelP() != p.params.MaxLevelP() || key.LevelQ() < level {
		return fmt.Errorf("single: a key at levels %d, %d cannot switch a ciphertext at level %d", key.LevelQ(), key.LevelP(), level)
	}
	digits := p.params.BaseRNSDecompositionVectorSize(level, p.params.MaxLevelP())
	p.keys.mulAddQP(level, [2]ringqp.Poly(out.Value), digits, func(i int) (a0, a1, b ringqp.Poly) {
		return key.Value[i][0][0], key.Value[i][0][1], decomp[i]
	}, false, first, step)
	return nil
}

// galoisKey returns the Galois key of galEl and the automorphism's index map in the
// NTT domain.
func (p *Plan) galoisKey(eval *hefloat.Evaluator, galEl uint64) (*rlwe.GaloisKey, []uint64, error) {
	gk, err := eval.CheckAndGetGaloisKey(galEl)
	if err != nil {
		return nil, nil, err
	}
	index := eval.AutomorphismIndex(galEl)
	if index == nil {
		if index, err = ring.AutomorphismNTTIndex(p.params.N(), p.params.RingQ().NthRoot(), galEl); err != nil {
			return nil, nil, err
		}
	}
	return gk, index, nil
}

// rotateHoisted computes ct rotated by each of rotations (slots) modulo QP, from the
// decomposition of its c1: Lattigo's AutomorphismHoistedLazy on the kernels, the key
// switch of c1 under the rotation's Galois key with c0·P added, then the
// automorphism; rotation i is written into out(h, i), or added to it if accumulate.
// The work is shared between the two goroutines as tasks of one row modulo QP of one
// rotation, row by row, so that a row of the decomposition serves every rotation
// while it is in cache; h names the goroutine (for its scratch and, when
// accumulating, its own sum).
func (p *Plan) rotateHoisted(ws *workspace, level int, ct *rlwe.Ciphertext, decomp []ringqp.Poly, rotations []int, out func(h, i int) *qpElement, accumulate bool) error {
	n, rows := len(rotations), level+2
	return ws.shared(n*rows, func(h, task int) error {
		r, i := task/n, task%n
		gk, index, err := p.galoisKey(ws.evals[h], p.params.GaloisElement(rotations[i]))
		if err != nil {
			return err
		}
		tmp := ws.tmp[h]
		if err := p.keyProduct(level, &gk.GadgetCiphertext, decomp, tmp, r, rows); err != nil {
			return err
		}
		if r <= level {
			p.keys.chain.Arith(r).MulConstAdd(tmp.Value[0].Q.Coeffs[r], ct.Value[0].Coeffs[r], p.keys.PModQ(r))
		}
		dst, a := out(h, i), p.keys.rowArith(level, r)
		for k := range 2 {
			a.Permute(qpRow(dst.Value[k], level, r), qpRow(tmp.Value[k], level, r), index, accumulate)
		}
		return nil
	})
}

// decompose writes the RNS decomposition of c1 (NTT domain, at level) into decomp,
// the digits shared between two goroutines (see decomposeDigits).
func (p *Plan) decompose(ws *workspace, level int, c1 ring.Poly, decomp []ringqp.Poly) error {
	inv := ws.evals[0].BuffInvNTT
	return ws.twoWay(func(h int) error {
		p.keys.decomposeDigits(level, c1, inv, decomp, h, 2)
		return nil
	})
}

// decomposeDigits writes digits first, first+step, … of the RNS decomposition of c1
// (NTT domain, at level) into decomp: digit i is c1's limb i as a centred integer,
// reduced modulo every prime of Q (up to level) and P, in the NTT domain — Lattigo's
// DecomposeSingleNTT with one special prime, on the kernels. inv's rows of those
// digits are scratch.
func (k *keySwitching) decomposeDigits(level int, c1, inv ring.Poly, decomp []ringqp.Poly, first, step int) {
	for i := first; i <= level; i += step {
		k.chain.NTT(i).Inverse(inv.Coeffs[i], c1.Coeffs[i])
		k.Digit(decomp[i], level, i, inv.Coeffs[i], c1.Coeffs[i])
	}
}

// fold replaces ct by the sum of its rotations by batch·j, j = 0 … n−1: one
// decomposition, then n−1 hoisted key switches summed modulo QP (each goroutine into
// its own sum), then one division by P.
func (p *Plan) fold(ws *workspace, ct *rlwe.Ciphertext, batch, n int) error {
	level := ct.Level()
	decomp := ws.evals[0].GetBuffDecompQP()
	if err := p.decompose(ws, level, ct.Value[1], decomp); err != nil {
		return err
	}
	sums := ws.acc
	clearQP(level, sums[0])
	clearQP(level, sums[1])
	rotations := make([]int, n-1)
	for j := range rotations {
		rotations[j] = batch * (j + 1)
	}
	if err := p.rotateHoisted(ws, level, ct, decomp, rotations, func(h, _ int) *qpElement { return sums[h] }, true); err != nil {
		return err
	}
	return p.modDownThenAdd(ws, ct, sums[0], sums[1])
}

// rescale sets out (which may be ct) to ct divided by its last prime, rounded, on the
// kernels, one polynomial on each goroutine.
func (p *Plan) rescale(ws *workspace, ct, out *rlwe.Ciphertext) error {
	level := ct.Level()
	if level == 0 {
		return fmt.Errorf("single: cannot rescale a ciphertext at level 0")
	}
	if err := ws.twoWay(func(h int) error {
		for k := h; k < len(ct.Value); k += 2 {
			p.keys.chain.Rescale(out.Value[k].Coeffs[:level], ct.Value[k].Coeffs[:level+1], ws.rows[h], 1)
		}
		return nil
	}); err != nil {
		return err
	}
	if out != ct {
		*out.MetaData = *ct.MetaData
	}
	out.Scale = ct.Scale.Div(rlwe.NewScale(p.params.Q()[level]))
	out.Resize(ct.Degree(), level-1)
	return nil
}
