package batch

import (
	"fmt"
	"strings"

	"github.com/cryptonets/cryptonets/core/packing"
)

// units are the batch engine's measured costs per coefficient (both cores): a
// multiply-accumulate of the linear kernels or a butterfly of a rescaling NTT, a
// limb-polynomial encrypted (sampling, NTT, sealing) or decrypted (opening,
// decoding). They were measured on the shipped MNIST model by
//
//	go test -run XXX -bench CostModel -benchtime 1x -v ./core/compile
//
// (the fastest of three runs), which prints measured and modelled times side by side.
var units = packing.Units{MulAdd: 2.9e-10, Encrypt: 3.7e-8, Decrypt: 3.6e-8}

// Work counts the operations of one request (one batch, whatever its image count).
func (p *Plan) Work() packing.Work {
	m := p.manifest
	w := packing.Work{Units: units,
		Encrypted: float64(m.Input.Size() * 2 * (m.InputLevel + 1)),
		Decrypted: float64(m.Outputs * m.OutputDegree * (m.OutputLevel + 1)),
	}
	for _, st := range p.steps {
		s := st.info()
		inLevel := s.Level + s.Rescales
		limbs := float64(inLevel + 1)
		switch {
		case s.Kind == "linear":
			w.MulAdds += float64(s.Weights*(s.Degree+1)) * limbs
		case s.Kind == "square":
			d := s.Degree / 2
			w.MulAdds += float64(s.Inputs*(d+1)*(d+2)/2) * limbs
		case strings.Contains(s.Kind, "relinearized powers"):
			// Per ciphertext, about: a product, a relinearization and a rescale per
			// power (at the result's level, a little low), then one sum per power.
			powers := float64(polyDegree(s.Kind) - 1)
			ext := limbs + float64(len(p.params.P()))
			w.NTTs += float64(s.Inputs) * powers * (limbs + limbs*ext + 2*ext + 4*limbs)
			w.MulAdds += float64(s.Inputs) * powers * (4*limbs + 2*limbs*ext + 2*limbs)
		case strings.HasPrefix(s.Kind, "polynomial"):
			// Powers x^2..x^n by tensor products, then one scaled sum per power.
			w.MulAdds += float64(s.Inputs*(s.Degree+1)*(s.Degree+1)) * limbs
		case s.Kind == "relinearize":
			// Per ciphertext: the last component out of the NTT domain, each of its
			// digits (one per prime) extended to Q and P and transformed back, the key
			// products, and the division by P of the two results.
			ext := limbs + float64(len(p.params.P()))
			w.NTTs += float64(s.Inputs) * (limbs + limbs*ext + 2*ext)
			w.MulAdds += float64(s.Inputs) * 2 * limbs * ext
		case s.Kind == "monitor":
			// A tensor square and a multiply-add per input.
			d := s.Degree / 2
			w.MulAdds += float64(s.Inputs*((d+1)*(d+2)/2+s.Degree+1)) * limbs
		case strings.HasPrefix(s.Kind, "monitor ("):
			// A multiply-add per input, of the square the polynomial computes.
			w.MulAdds += float64(s.Inputs*(s.Degree+1)) * limbs
		}
		if s.Rescales > 0 {
			w.NTTs += float64(s.Outputs*(s.Degree+1)) * limbs
		}
	}
	return w
}

// polyDegree reads the degree from a polynomial step's kind, "polynomial degree N …".
func polyDegree(kind string) int {
	var n int
	fmt.Sscanf(strings.TrimPrefix(kind, "polynomial degree "), "%d", &n)
	return n
}
