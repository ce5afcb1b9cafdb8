package compile

import (
	"math"

	"github.com/cryptonets/cryptonets/core/manifest"
)

// The cost model. A plan counts the work of one request (package batch: Work; package
// single: Work), in limb-polynomial operations; the constants below turn that work
// into seconds on the reference machine (2 cores, AMD EPYC, the CI machine class).
// They were measured on the shipped MNIST model by
//
//	go test -run XXX -bench CostModel -benchtime 1x -v ./core/compile
//
// which prints measured and modelled times side by side (the batch constants are
// those of the fastest of three runs, as cryptonets bench --sweep keeps them);
// cryptonets bench --sweep checks the model against end-to-end measurements (README,
// "Packings").
const (
	// batchOpSeconds is one multiply-accumulate of a limb-polynomial coefficient in
	// the batch engine, or one butterfly of a rescaling NTT (both cores);
	// batchEncryptSeconds and batchDecryptSeconds are per coefficient of a
	// limb-polynomial encrypted (sampling, NTT, sealing) or decrypted (opening,
	// decoding).
	batchOpSeconds      = 2.9e-10
	batchEncryptSeconds = 3.7e-8
	batchDecryptSeconds = 3.6e-8
	// The same for the single-image engine, whose key switches use both cores only in
	// part and whose client works on one ciphertext at a time; measured with 8 images
	// per request (where it competes with batch packing; one image per request comes
	// out about 20 % faster than modelled).
	singleOpSeconds      = 9.9e-10
	singleEncryptSeconds = 4.5e-8
	singleDecryptSeconds = 7.5e-8
)

// Estimate is the cost model's expected time to get the results of a number of
// images: requests of up to ImagesPerBatch images, each encrypted, evaluated and
// decrypted in turn.
type Estimate struct {
	Images, Requests int
	// Per phase, over all requests.
	EncryptSeconds, EvaluateSeconds, DecryptSeconds float64
	TotalSeconds                                    float64
}

// requestSeconds is the modelled time of one request, by phase.
type requestSeconds struct{ encrypt, evaluate, decrypt float64 }

// Estimate returns the expected time of n images under p.
func (p *Plan) Estimate(n int) Estimate {
	per := p.Manifest().ImagesPerBatch
	req := p.requestSeconds()
	e := Estimate{Images: n, Requests: (n + per - 1) / per}
	r := float64(e.Requests)
	e.EncryptSeconds, e.EvaluateSeconds, e.DecryptSeconds = r*req.encrypt, r*req.evaluate, r*req.decrypt
	e.TotalSeconds = e.EncryptSeconds + e.EvaluateSeconds + e.DecryptSeconds
	return e
}

func (p *Plan) requestSeconds() requestSeconds {
	n := float64(p.Parameters().N())
	w, op, enc, dec := manifest.Work{}, batchOpSeconds, batchEncryptSeconds, batchDecryptSeconds
	if p.single != nil {
		w, op, enc, dec = p.single.Work(), singleOpSeconds, singleEncryptSeconds, singleDecryptSeconds
	} else {
		w = p.batch.Work()
	}
	return requestSeconds{
		encrypt:  w.Encrypted * n * enc,
		evaluate: (w.MulAdds + w.NTTs*math.Log2(n)) * n * op,
		decrypt:  w.Decrypted * n * dec,
	}
}
