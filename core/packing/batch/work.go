package batch

import (
	"strings"

	"github.com/cryptonets/cryptonets/core/manifest"
)

// Work counts the operations of one request (one batch, whatever its image count).
func (p *Plan) Work() manifest.Work {
	m := p.manifest
	w := manifest.Work{
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
		case strings.HasPrefix(s.Kind, "polynomial"):
			// Powers x^2..x^n by tensor products, then one scaled sum per power.
			w.MulAdds += float64(s.Inputs*(s.Degree+1)*(s.Degree+1)) * limbs
		}
		if s.Rescales > 0 {
			w.NTTs += float64(s.Outputs*(s.Degree+1)) * limbs
		}
	}
	return w
}
