package single

import (
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// Memory estimates the plan's memory (see packing.Memory). An evaluation holds its
// input ciphertexts, then works on one ciphertext at a time with the buffers of its
// evaluators (two) and the decomposed ciphertexts of hoisted key switches:
// evaluationPolys polynomials in QP plus perDigitPolys for each digit of the
// decomposition, and the baby steps and giant steps' sums of its transformations,
// which bounds what one evaluation allocates in all for the shipped network at both
// of its request sizes and for the deep fixtures (checked in package compile's
// tests). The plan holds its encoded weights, and keeps the workspaces of finished
// evaluations (Kept).
func (p *Plan) Memory() packing.Memory {
	prm := p.params
	m := p.manifest
	row := int64(prm.N()) * 8
	qp := int64(prm.QCount()+prm.PCount()) * row
	digits := int64(prm.BaseRNSDecompositionVectorSize(prm.MaxLevelQ(), prm.MaxLevelP()))
	inputs := int64(m.InputCiphertexts) * 2 * int64(m.InputLevel+1) * row
	// The baby steps and giant steps' sums of a workspace, two polynomials each.
	steps := 2 * int64(p.maxBabies+p.maxGiants) * int64(p.babyLevel+1+prm.PCount()) * row
	return packing.Memory{
		Evaluation: inputs + qp*(evaluationPolys+perDigitPolys*digits) + steps,
		Resident:   packing.ParametersBytes(prm) + p.weightBytes() + structureBytes,
		Kept:       maxIdleWorkspaces * (qp*(workspacePolys+2*digits) + row*(4+2*int64(len(m.GaloisElements))) + steps),
	}
}

// workspacePolys bounds the polynomials in QP of one idle workspace beyond two per
// digit (each of its two evaluators' decomposition buffers), its baby steps and
// giant steps' sums (two polynomials each at the level of the transformations) and
// the automorphism indices
// of its evaluators (a row per Galois element each): Lattigo's buffers and encoder of
// both evaluators, the workspace's four degree-1 elements modulo QP, a square's c1²
// term and its two ciphertexts.
const workspacePolys = 2*32 + 4*2 + 1 + 4

// The polynomials in QP an evaluation holds at most beyond its inputs: a fixed part
// and a part per digit of the key-switching decomposition.
const (
	evaluationPolys = 72
	perDigitPolys   = 8
)

// structureBytes bounds the rest of what a plan holds: maps, slices, descriptions.
const structureBytes = 1 << 20

// weightBytes is the size of the encoded weights: the first layer's plaintexts (and
// their Montgomery forms), the diagonals of every linear transformation, biases, the
// polynomial steps' plaintexts and the manifest's layout.
func (p *Plan) weightBytes() int64 {
	polyBytes := func(q ring.Poly) int64 {
		var n int64
		for _, r := range q.Coeffs {
			n += 8 * int64(len(r))
		}
		return n
	}
	ptBytes := func(pt *rlwe.Plaintext) int64 {
		if pt == nil {
			return 0
		}
		return polyBytes(pt.Value)
	}
	n := ptBytes(p.first.biasPt) + 8*int64(len(p.first.bias)) + int64(len(p.manifest.Layout))
	for i, w := range p.first.weights {
		n += ptBytes(w) + polyBytes(p.first.montgomery[i])
	}
	for _, s := range p.steps {
		n += ptBytes(s.biasPt) + 8*int64(len(s.bias))
		if s.poly != nil {
			n += ptBytes(s.poly.scale)
		}
		if s.tr != nil {
			for _, v := range s.tr.lt.Vec {
				n += polyBytes(v.Q) + polyBytes(v.P)
			}
		}
	}
	return n
}
