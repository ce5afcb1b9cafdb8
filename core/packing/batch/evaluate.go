package batch

import (
	"errors"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Progress reports long work: what is being done, and how far along it is.
// A nil Progress reports nothing.
type Progress func(what string, done, total int)

func (p Progress) report(what string, done, total int) {
	if p != nil {
		p(what, done, total)
	}
}

// Evaluate runs the network on an encrypted batch: one ciphertext per input value,
// as made by EncryptImages. It returns one ciphertext per output. It takes ownership
// of the inputs: their memory is recycled, so the caller must not use them again.
func (p *Plan) Evaluate(in []*rlwe.Ciphertext, progress Progress) ([]*rlwe.Ciphertext, error) {
	if err := p.CheckInputs(in); err != nil {
		return nil, err
	}
	ev := &evaluation{params: p.params, workers: defaultWorkers(), pool: p.pool}
	x := append([]*rlwe.Ciphertext(nil), in...)
	for i, s := range p.steps {
		progress.report("evaluate", i, len(p.steps))
		var err error
		if x, err = s.apply(ev, x); err != nil {
			return nil, fmt.Errorf("batch: step %d: %w", i, err)
		}
	}
	progress.report("evaluate", len(p.steps), len(p.steps))
	return x, nil
}

// CheckInputs verifies count, degree, level, scale and domain of input ciphertexts.
func (p *Plan) CheckInputs(in []*rlwe.Ciphertext) error {
	m := p.manifest
	return checkCiphertexts(in, m.Input.Size(), 1, m.InputLevel, log2(p.inScale), p.params.N())
}

// checkCiphertexts verifies that cts are n ciphertexts of the given degree and level,
// in the NTT domain and not in Montgomery form, with the given scale (as log2).
func checkCiphertexts(cts []*rlwe.Ciphertext, n, degree, level int, logScale float64, ringN int) error {
	if len(cts) != n {
		return fmt.Errorf("batch: %d ciphertexts, want %d", len(cts), n)
	}
	for i, ct := range cts {
		switch {
		case ct == nil || ct.MetaData == nil:
			return fmt.Errorf("batch: ciphertext %d is empty", i)
		case ct.Degree() != degree || ct.Level() != level:
			return fmt.Errorf("batch: ciphertext %d has degree %d at level %d, want degree %d at level %d", i, ct.Degree(), ct.Level(), degree, level)
		case !ct.IsNTT || ct.IsMontgomery || !ct.IsBatched:
			return fmt.Errorf("batch: ciphertext %d is not a slot-encoded NTT-domain ciphertext", i)
		case math.Abs(log2(ct.Scale)-logScale) > 1e-9:
			return fmt.Errorf("batch: ciphertext %d has scale 2^%.3f, want 2^%.3f", i, log2(ct.Scale), logScale)
		case ct.Value[0].N() != ringN:
			return errors.New("batch: ciphertext of another ring degree")
		}
	}
	return nil
}
