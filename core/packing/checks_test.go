package packing_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// TestHonestResultsPassWithMargin runs honest requests in both packings and checks
// that every check value's error stays well inside its tolerance (docs/security.md
// states the figure this logs): the checks do not fail honest results.
func TestHonestResultsPassWithMargin(t *testing.T) {
	shipped, err := model.Load("../../models/mnist/mnist_cryptonets.cnm")
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		packing manifest.Packing
		preset  params.Preset
		images  int
	}{
		{"batch", params.InsecureN11, 300},
		{"single", params.InsecureN12S, 1},
		{"single", params.InsecureN12S, 2},
	}
	if !testing.Short() {
		cases = append(cases, struct {
			packing manifest.Packing
			preset  params.Preset
			images  int
		}{"batch", params.N13, 64})
	}
	for _, c := range cases {
		p, err := compile.Compile(shipped, compile.Options{Packing: c.packing, Params: c.preset.Name, AllowInsecure: c.preset.Insecure,
			Tuning: packing.Options{ImagesPerRequest: map[manifest.Packing]int{"single": c.images}[c.packing]}})
		if err != nil {
			t.Fatal(err)
		}
		m := p.Manifest()
		pk, err := compile.Lookup(m.Packing)
		if err != nil {
			t.Fatal(err)
		}
		layout, err := pk.Layout(&m)
		if err != nil {
			t.Fatal(err)
		}
		sk := rlwe.NewKeyGenerator(p.Parameters()).GenSecretKeyNew()
		codec, err := packing.NewCodec(&m, p.Parameters(), layout, sk, []byte("an arrangement key for the test"))
		if err != nil {
			t.Fatal(err)
		}
		rlk, gks := codec.EvaluationKeys()
		keys := rlwe.NewMemEvaluationKeySet(rlk, gks...)
		rng := rand.New(rand.NewPCG(1, uint64(c.images)))
		worst, rounds := 0.0, 3
		if !c.preset.Insecure {
			rounds = 1 // a full batch at 128 bits takes seconds
		}
		for r := range rounds {
			id := []byte(fmt.Sprintf("request %d", r))
			n := min(c.images, m.ImagesPerBatch)
			start := rng.IntN(len(set.Records) - n)
			in, err := codec.Encrypt(set.Records[start:start+n], id, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Evaluate(context.Background(), in, keys, nil)
			if err != nil {
				t.Fatal(err)
			}
			worst = max(worst, codec.CheckMargin(out, id, n))
			if _, err := codec.Decrypt(out, id, n); err != nil {
				t.Fatal(err)
			}
		}
		tol, logit := 0.0, 0.0
		for i := range m.Checks.Outputs {
			for j := range m.Checks.Outputs[i] {
				tol, logit = max(tol, m.Checks.Tolerance[i][j]), max(logit, math.Abs(m.Checks.Outputs[i][j]))
			}
		}
		t.Logf("%s, %s, %d images per request, %d positions, %d check inputs (|logit| up to %.3g, tolerance up to %.3g): the largest check error is %.3f of its tolerance",
			c.packing, c.preset.Name, m.ImagesPerBatch, m.Checks.Positions, len(m.Checks.Candidates), logit, tol, worst)
		if worst > 0.5 {
			t.Errorf("%s, %s: a check value's error reaches %.2f of its tolerance", c.packing, c.preset.Name, worst)
		}
	}
}
