package single

import (
	"math/bits"

	"github.com/cryptonets/cryptonets/core/plan"
	"github.com/tuneinsight/lattigo/v5/he"
)

// Work counts the operations of one request. Key switches are counted through their
// parts: the decomposition and basis extension (NTTs, base conversions), the product
// with the key and the division by P.
func (p *Plan) Work() plan.Work {
	prm := p.params
	k := float64(prm.PCount())
	m := p.manifest
	w := plan.Work{
		Encrypted: float64(m.Layout.Ciphertexts * 2 * (m.InputLevel + 1)),
		Decrypted: float64(m.OutputLevel + 1),
	}
	// decompose is the shared part of key switching at level l; keyProduct the part
	// each rotation repeats (product with the key, division by P, automorphism).
	decompose := func(l int) {
		q := float64(l + 1)
		w.NTTs += q * (q + k)
		w.MulAdds += q * (q + k)
	}
	keyProduct := func(l int) {
		q := float64(l + 1)
		w.MulAdds += 2*q*(q+k) + 2*q*k
		w.NTTs += 2 * (q + k)
	}
	keySwitch := func(l int) { decompose(l); keyProduct(l) }
	rescale := func(l int) { w.NTTs += 4 * float64(l+1) }
	fold := func(l, n int) {
		for range bits.Len(uint(n)) - 1 {
			keySwitch(l)
		}
	}

	level := m.InputLevel
	w.MulAdds += float64(2 * len(p.first.weights) * (level + 1))
	rescale(level)
	level--
	if p.first.folds > 1 {
		fold(level, p.first.folds)
	}
	for _, s := range p.steps {
		if s.square {
			w.MulAdds += 3 * float64(level+1)
			keySwitch(level)
		} else {
			_, giants, babies := he.LinearTransformation(s.lt).BSGSIndex()
			decompose(level)
			for range babies {
				keyProduct(level)
			}
			for range giants {
				keySwitch(level)
			}
			w.MulAdds += float64(2 * len(s.lt.Vec) * (level + 1))
			if s.fold > 1 {
				fold(level-1, s.fold)
			}
		}
		rescale(level)
		level--
	}
	return w
}
