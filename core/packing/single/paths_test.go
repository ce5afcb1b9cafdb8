package single

import (
	"context"
	"slices"
	"testing"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// TestKernelPathsAgreeBitForBit evaluates one encrypted image of the shipped model
// through plans compiled for every kernel path this processor runs (CRYPTONETS_KERNEL
// forced), with the same keys: every coefficient of the result must be identical to
// the pure-Go path's.
func TestKernelPathsAgreeBitForBit(t *testing.T) {
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 1)
	if err != nil {
		t.Fatal(err)
	}
	var (
		in, want []*rlwe.Ciphertext
		evk      *rlwe.MemEvaluationKeySet
	)
	for _, path := range kernel.Paths {
		if !kernel.Supported(path) {
			t.Logf("%s path not supported here", path)
			continue
		}
		t.Setenv(kernel.EnvVar, path.String())
		p, err := Compile(m, params.InsecureN12S, packing.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if in == nil {
			var c testClient
			c, evk = newClient(t, p)
			if in, err = c.Encrypt(set.Records[0]); err != nil {
				t.Fatal(err)
			}
		}
		out, err := p.Evaluate(context.Background(), in, evk, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = out
			continue
		}
		for k := range out[0].Value {
			for l := range out[0].Value[k].Coeffs {
				if !slices.Equal(out[0].Value[k].Coeffs[l], want[0].Value[k].Coeffs[l]) {
					t.Fatalf("%s path: polynomial %d, limb %d differs from the pure-Go path", path, k, l)
				}
			}
		}
	}
}
