package single

import (
	"sort"

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

// modDownThenAdd sets ct += acc / P, one polynomial on each goroutine.
func (p *Plan) modDownThenAdd(evals [2]*hefloat.Evaluator, acc *rlwe.Element[ringqp.Poly], ct *rlwe.Ciphertext) error {
	level := ct.Level()
	tmp := [2]ring.Poly{p.params.RingQ().AtLevel(level).NewPoly(), p.params.RingQ().AtLevel(level).NewPoly()}
	err := p.twoWay(func(h int) error {
		evals[h].BasisExtender.ModDownQPtoQNTT(level, p.params.MaxLevelP(), acc.Value[h].Q, acc.Value[h].P, tmp[h])
		p.params.RingQ().AtLevel(level).Add(ct.Value[h], tmp[h], ct.Value[h])
		return nil
	})
	return err
}

// relinearize turns the degree-2 ciphertext ct into a degree-1 one in place: the
// digits of c2's decomposition and their products with the relinearization key are
// shared between the two goroutines.
func (p *Plan) relinearize(evals [2]*hefloat.Evaluator, ct *rlwe.Ciphertext) error {
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
	acc := [2]*rlwe.Element[ringqp.Poly]{p.newQP(level), p.newQP(level)}
	r := p.params.RingQP().AtLevel(level, levelP)
	if err := p.twoWay(func(h int) error {
		for i := h; i < digits; i += 2 {
			key := rlk.Value[i][0]
			r.MulCoeffsMontgomeryLazyThenAddLazy(key[0], decomp[i], acc[h].Value[0])
			r.MulCoeffsMontgomeryLazyThenAddLazy(key[1], decomp[i], acc[h].Value[1])
		}
		r.Reduce(acc[h].Value[0], acc[h].Value[0])
		r.Reduce(acc[h].Value[1], acc[h].Value[1])
		return nil
	}); err != nil {
		return err
	}
	if digits > 1 {
		p.addQP(level, acc[1], acc[0])
	}
	ct.Value = ct.Value[:2]
	return p.modDownThenAdd(evals, acc[0], ct)
}

// linearHoisted evaluates a linear transformation without baby-step giant-step:
// one decomposition of ct, a hoisted key switch per nonzero diagonal (kept modulo
// QP, multiplied there by the diagonal), the diagonals shared between two
// goroutines, and one division by P. It suits transformations of a few diagonals,
// at the price of a Galois key per diagonal.
func (p *Plan) linearHoisted(evals [2]*hefloat.Evaluator, ct *rlwe.Ciphertext, lt he.LinearTransformation, out *rlwe.Ciphertext) error {
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
	r := p.params.RingQP().AtLevel(level, levelP)
	acc := [2]*rlwe.Element[ringqp.Poly]{p.newQP(level), p.newQP(level)}
	if err := p.twoWay(func(h int) error {
		rot := p.newQP(level)
		for i := h; i < len(rotations); i += 2 {
			j := rotations[i]
			if err := evals[h].AutomorphismHoistedLazy(level, ct, decomp, p.params.GaloisElement(j), rot); err != nil {
				return err
			}
			r.MulCoeffsMontgomeryLazyThenAddLazy(lt.Vec[j], rot.Value[0], acc[h].Value[0])
			r.MulCoeffsMontgomeryLazyThenAddLazy(lt.Vec[j], rot.Value[1], acc[h].Value[1])
		}
		r.Reduce(acc[h].Value[0], acc[h].Value[0])
		r.Reduce(acc[h].Value[1], acc[h].Value[1])
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
	return p.modDownThenAdd(evals, acc[0], out)
}
