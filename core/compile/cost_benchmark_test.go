package compile_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/server"
)

// phaseTimes is one measured request: client encrypt and seal, server open, evaluate
// and seal, client open and decrypt.
type phaseTimes struct{ encrypt, evaluate, decrypt time.Duration }

// measureRequest runs reps requests of a full batch of the plan and returns the
// fastest time of each phase.
func measureRequest(b *testing.B, p compile.Plan, reps int) phaseTimes {
	b.Helper()
	man := p.Manifest()
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(&man)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := c.EvaluationKeys()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(p, keys)
	if err != nil {
		b.Fatal(err)
	}
	images := set.Records[:man.ImagesPerBatch]
	best := phaseTimes{math.MaxInt64, math.MaxInt64, math.MaxInt64}
	for range reps {
		start := time.Now()
		up, req, err := c.EncryptBytes(images, nil)
		if err != nil {
			b.Fatal(err)
		}
		enc := time.Since(start)
		start = time.Now()
		down, err := srv.PredictBytes(context.Background(), up, nil)
		if err != nil {
			b.Fatal(err)
		}
		eval := time.Since(start)
		start = time.Now()
		if _, err := c.DecryptBytes(req, down); err != nil {
			b.Fatal(err)
		}
		best = phaseTimes{min(best.encrypt, enc), min(best.evaluate, eval), min(best.decrypt, time.Since(start))}
	}
	return best
}

// BenchmarkCostModel measures one request of the shipped model under each packing and
// prints the measured times beside the cost model's, with the unit costs the
// measurement implies (the constants of cost.go come from here):
//
//	go test -run XXX -bench CostModel -benchtime 1x -v ./core/compile
func BenchmarkCostModel(b *testing.B) {
	m, err := model.Load(shippedModel)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		packing manifest.Packing
		images  int
		reps    int
	}{{batch.Name, 0, 3}, {single.Name, 1, 20}, {single.Name, 8, 20}} {
		p, err := compile.Compile(m, compile.Options{Packing: c.packing, Tuning: packing.Options{ImagesPerRequest: c.images}})
		if err != nil {
			b.Fatal(err)
		}
		got := measureRequest(b, p, c.reps)
		est := compile.EstimateOf(p, p.Manifest().ImagesPerBatch)
		n := float64(p.Parameters().N())
		w := p.Work()
		b.Logf("%s ×%d: measured encrypt %.4fs evaluate %.4fs decrypt %.4fs; modelled %.4fs %.4fs %.4fs",
			c.packing, p.Manifest().ImagesPerBatch, got.encrypt.Seconds(), got.evaluate.Seconds(), got.decrypt.Seconds(), est.EncryptSeconds, est.EvaluateSeconds, est.DecryptSeconds)
		b.Logf("%s ×%d: work %+v; implied units: encrypt %.4g s, decrypt %.4g s, mul-add or NTT butterfly %.4g s",
			c.packing, p.Manifest().ImagesPerBatch, w, got.encrypt.Seconds()/(w.Encrypted*n), got.decrypt.Seconds()/(w.Decrypted*n),
			got.evaluate.Seconds()/(w.MulAdds*n+w.NTTs*n*math.Log2(n)))
	}
}
