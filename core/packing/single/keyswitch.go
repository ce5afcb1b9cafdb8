package single

import (
	"fmt"
	"sort"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// Key switching, shared between two goroutines and kept modulo QP (lazy) until one
// division by P at the end: a fold's rotations are summed before that division, so a
// fold of n segments costs one decomposition, n−1 inner products and one ModDown
// instead of n−1 ModDowns.

// newQP returns a zero ciphertext modulo QP at the level, in the NTT domain.
func (p *Plan) newQP(level int) *rlwe.Element[ringqp.Poly] {
	r := p.params.RingQP().AtLevel(level, p.params.MaxLevelP())
	return &rlwe.Element[ringqp.Poly]{
		Value:    []ringqp.Poly{r.NewPoly(), r.NewPoly()},
		MetaData: &rlwe.MetaData{CiphertextMetaData: rlwe.CiphertextMetaData{IsNTT: true}},
	}
}

// addQP sets acc += x modulo QP.
func (p *Plan) addQP(level int, x, acc *rlwe.Element[ringqp.Poly]) {
	r := p.params.RingQP().AtLevel(level, p.params.MaxLevelP())
	r.Add(acc.Value[0], x.Value[0], acc.Value[0])
	r.Add(acc.Value[1], x.Value[1], acc.Value[1])
}

// modDownThenAdd sets ct += acc / P (rounded), one polynomial on each goroutine.
func (p *Plan) modDownThenAdd(ws *workspace, acc *rlwe.Element[ringqp.Poly], ct *rlwe.Ciphertext) error {
	return p.twoWay(func(h int) error {
		p.keys.DivideByPThenAdd(ct.Value[h].Coeffs, acc.Value[h], ct.Level(), ws.rows[h])
		return nil
	})
}

// relinearize turns the degree-2 ciphertext ct into a degree-1 one in place: the
// digits of c2's decomposition and their products with the relinearization key are
// shared between the two goroutines.
func (p *Plan) relinearize(ws *workspace, ct *rlwe.Ciphertext) error {
	evals := ws.evals
	eval := evals[0]
	rlk, err := eval.CheckAndGetRelinearizationKey()
	if err != nil {
		return err
	}
	level, levelP := ct.Level(), p.params.MaxLevelP()
	decomp := eval.GetBuffDecompQP()
	if err := p.decompose(evals, level, ct.Value[2], decomp); err != nil {
		return err
	}
	digits := p.params.BaseRNSDecompositionVectorSize(level, levelP)
	acc := [2]*rlwe.Element[ringqp.Poly]{ws.qpAt(0, level, false), ws.qpAt(1, level, false)}
	if err := p.twoWay(func(h int) error {
		var keys [2][]ringqp.Poly
		var ds []ringqp.Poly
		for i := h; i < digits; i += 2 {
			keys[0] = append(keys[0], rlk.Value[i][0][0])
			keys[1] = append(keys[1], rlk.Value[i][0][1])
			ds = append(ds, decomp[i])
		}
		p.keys.MulAddQP(level, levelP, [2]ringqp.Poly(acc[h].Value), keys, ds, false)
		return nil
	}); err != nil {
		return err
	}
	if digits > 1 {
		p.addQP(level, acc[1], acc[0])
	}
	ct.Value = ct.Value[:2]
	return p.modDownThenAdd(ws, acc[0], ct)
}

// linearHoisted evaluates a linear transformation without baby-step giant-step:
// one decomposition of ct, a hoisted key switch per nonzero diagonal (kept modulo
// QP, multiplied there by the diagonal), the diagonals shared between two
// goroutines, and one division by P. It suits transformations of a few diagonals,
// at the price of a Galois key per diagonal.
func (p *Plan) linearHoisted(ws *workspace, ct *rlwe.Ciphertext, lt he.LinearTransformation, out *rlwe.Ciphertext) error {
	evals := ws.evals
	eval := evals[0]
	level, levelP := min(ct.Level(), lt.Level), p.params.MaxLevelP()
	decomp := eval.GetBuffDecompQP()
	if err := p.decompose(evals, level, ct.Value[1], decomp); err != nil {
		return err
	}
	var rotations []int
	for j := range lt.Vec {
		if j != 0 {
			rotations = append(rotations, j)
		}
	}
	sort.Ints(rotations)
	acc := [2]*rlwe.Element[ringqp.Poly]{ws.qpAt(0, level, true), ws.qpAt(1, level, true)}
	if err := p.twoWay(func(h int) error {
		rot, tmp := ws.qpAt(2+h, level, false), ws.qpAt(4+h, level, false)
		for i := h; i < len(rotations); i += 2 {
			j := rotations[i]
			if err := p.automorphismHoisted(evals[h], level, ct, decomp, p.params.GaloisElement(j), tmp, rot, false); err != nil {
				return err
			}
			// The rotated ciphertext's two polynomials times the same diagonal.
			p.keys.MulAddQP(level, levelP, [2]ringqp.Poly(acc[h].Value), [2][]ringqp.Poly{rot.Value[:1], rot.Value[1:]},
				[]ringqp.Poly{lt.Vec[j]}, true)
		}
		return nil
	}); err != nil {
		return err
	}
	p.addQP(level, acc[1], acc[0])
	*out.MetaData = *ct.MetaData
	out.Scale = ct.Scale.Mul(lt.Scale)
	out.Resize(1, level)
	ringQ := p.params.RingQ().AtLevel(level)
	if d, ok := lt.Vec[0]; ok {
		ringQ.MulCoeffsMontgomery(ct.Value[0], d.Q, out.Value[0])
		ringQ.MulCoeffsMontgomery(ct.Value[1], d.Q, out.Value[1])
	} else {
		out.Value[0].Zero()
		out.Value[1].Zero()
	}
	return p.modDownThenAdd(ws, acc[0], out)
}

// newKeySwitching returns the plan's key-switching arithmetic on the kernel path
// (kernel.KeySwitch, which batch packing's relinearization shares).
func newKeySwitching(prm hefloat.Parameters) (*kernel.KeySwitch, error) {
	if prm.PCount() != 1 {
		return nil, fmt.Errorf("single-image packing needs exactly one special prime, the parameters have %d", prm.PCount())
	}
	path, err := kernel.FromEnv()
	if err != nil {
		return nil, err
	}
	return kernel.NewKeySwitch(path, prm.N(), prm.Q(), prm.P()[0], prm.RingType())
}

// automorphismHoisted is Lattigo's AutomorphismHoistedLazy on the kernels: the key
// switch of ct's decomposed c1 under the Galois key of galEl, modulo QP, with c0·P
// added, then the automorphism applied, is written into out, or added to it if
// accumulate; tmp is scratch. out is reduced.
func (p *Plan) automorphismHoisted(eval *hefloat.Evaluator, level int, ct *rlwe.Ciphertext, decomp []ringqp.Poly, galEl uint64, tmp, out *rlwe.Element[ringqp.Poly], accumulate bool) error {
	gk, err := eval.CheckAndGetGaloisKey(galEl)
	if err != nil {
		return err
	}
	levelP := gk.LevelP()
	if levelP != p.params.MaxLevelP() {
		return fmt.Errorf("single: Galois key %d has P level %d, want %d", galEl, levelP, p.params.MaxLevelP())
	}
	digits := p.params.BaseRNSDecompositionVectorSize(level, levelP)
	var keys [2][]ringqp.Poly
	for i := range digits {
		keys[0] = append(keys[0], gk.Value[i][0][0])
		keys[1] = append(keys[1], gk.Value[i][0][1])
	}
	p.keys.MulAddQP(level, levelP, [2]ringqp.Poly(tmp.Value), keys, decomp[:digits], false)
	for l := range level + 1 {
		p.keys.Chain().Arith(l).MulConstAdd(tmp.Value[0].Q.Coeffs[l], ct.Value[0].Coeffs[l], p.keys.PModQ(l))
	}
	index := eval.AutomorphismIndex(galEl)
	if index == nil {
		if index, err = ring.AutomorphismNTTIndex(p.params.N(), p.params.RingQ().NthRoot(), galEl); err != nil {
			return err
		}
	}
	for k := range 2 {
		for l := range level + 1 {
			permute(out.Value[k].Q.Coeffs[l], tmp.Value[k].Q.Coeffs[l], index, p.params.Q()[l], accumulate)
		}
		for l := range levelP + 1 {
			permute(out.Value[k].P.Coeffs[l], tmp.Value[k].P.Coeffs[l], index, p.params.P()[l], accumulate)
		}
	}
	return nil
}

// permute sets out[j] = in[index[j]] (an automorphism in the NTT domain), or adds it
// modulo q if accumulate.
func permute(out, in []uint64, index []uint64, q uint64, accumulate bool) {
	out = out[:len(index)]
	if !accumulate {
		for j, i := range index {
			out[j] = in[i]
		}
		return
	}
	for j, i := range index {
		v := out[j] + in[i]
		out[j] = min(v, v-q) // v−q wraps around below q: branch-free reduction
	}
}

// rescale sets out (which may be ct) to ct divided by its last prime, rounded, on the
// kernels.
func (p *Plan) rescale(ws *workspace, ct, out *rlwe.Ciphertext) error {
	level := ct.Level()
	if level == 0 {
		return fmt.Errorf("single: cannot rescale a ciphertext at level 0")
	}
	for k := range ct.Value {
		p.keys.Chain().Rescale(out.Value[k].Coeffs[:level], ct.Value[k].Coeffs[:level+1], ws.rows[0], 1)
	}
	if out != ct {
		*out.MetaData = *ct.MetaData
	}
	out.Scale = ct.Scale.Div(rlwe.NewScale(p.params.Q()[level]))
	out.Resize(ct.Degree(), level-1)
	return nil
}
