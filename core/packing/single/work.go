package single

import (
	"math/bits"

	"github.com/cryptonets/cryptonets/core/packing"
)

// units are the single-image engine's measured costs per coefficient, whose key
// switches use both cores only in part and whose client works on few ciphertexts;
// measured with 8 images per request, where it competes with batch packing, by
//
//	go test -run XXX -bench CostModel -benchtime 1x -v ./core/compile
//
// The multiply-add, since key switching moved to the kernels, keeps its ratio to
// batch packing's as that run measured it (4.96e-10 s against 2.04e-10 s, on a
// loaded machine).
var units = packing.Units{MulAdd: 7.0e-10, Encrypt: 4.5e-8, Decrypt: 7.5e-8}

// Work counts the operations of one request. Key switches are counted through their
// parts: the decomposition and basis extension (NTTs, base conversions), the product
// with the key and the division by P.
func (p *Plan) Work() packing.Work {
	prm := p.params
	k := float64(prm.PCount())
	m := p.manifest
	w := packing.Work{Units: units,
		Encrypted: float64(m.InputCiphertexts * 2 * (m.InputLevel + 1)),
		Decrypted: float64(m.OutputLevel + 1),
	}
	// Key switching at level l: decompose is the part shared by hoisted rotations,
	// keyProduct the part each rotation adds (product with the key, automorphism),
	// modDown the division by P that ends a lazy sum of key switches.
	decompose := func(l int) {
		q := float64(l + 1)
		w.NTTs += q * (q + k)
		w.MulAdds += q * (q + k)
	}
	keyProduct := func(l int) {
		q := float64(l + 1)
		w.MulAdds += 2 * q * (q + k)
	}
	modDownPoly := func(l int) {
		q := float64(l + 1)
		w.NTTs += q + k
		w.MulAdds += q * k
	}
	modDown := func(l int) { modDownPoly(l); modDownPoly(l) }
	keySwitch := func(l int) { decompose(l); keyProduct(l); modDown(l) }
	rescale := func(l int) { w.NTTs += 4 * float64(l+1) }
	fold := func(l, n int) {
		decompose(l)
		for range n - 1 {
			keyProduct(l)
		}
		modDown(l)
	}

	level := m.InputLevel
	w.MulAdds += float64(2 * len(p.first.weights) * (level + 1))
	for _, f := range p.first.folds {
		fold(level, f.n)
	}
	rescale(level)
	level--
	for _, s := range p.steps {
		if s.poly != nil {
			// The change of variable, then about one relinearized product per
			// Chebyshev power and per baby-step block (Paterson–Stockmeyer).
			w.MulAdds += 2 * float64(level+1)
			rescale(level)
			d := s.poly.cheb.Degree()
			for range bits.Len(uint(d)) + d/2 {
				w.MulAdds += 3 * float64(level+1)
				keySwitch(level)
				rescale(level)
			}
			level = s.poly.level
			continue
		}
		if s.square {
			w.MulAdds += 3 * float64(level+1)
			keySwitch(level)
		} else {
			// Plan.linear: the baby steps hoisted, each rotating giant step a key
			// switch of its sum (c1 divided by P), then one division by P.
			t := s.tr
			if babies := nonzero(t.babies); babies > 0 {
				decompose(level)
				for range babies {
					keyProduct(level)
				}
			}
			for range t.nonzeroGiants() {
				modDownPoly(level)
				decompose(level)
				keyProduct(level)
			}
			modDown(level)
			w.MulAdds += float64(2 * len(t.lt.Vec) * (level + 1 + prm.PCount()))
			for _, f := range s.folds {
				fold(level, f.n)
			}
		}
		rescale(level)
		level--
	}
	return w
}
