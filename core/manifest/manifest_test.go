package manifest_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/params"
)

func compiled(t *testing.T) manifest.Manifest {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	w := make([]float64, 12)
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	m := &model.Model{Name: "m", Input: model.Shape{C: 4, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Dense{In: 4, Out: 2, Weights: w[:8], Bias: []float64{0, 0}},
			model.Square{},
			&model.Dense{In: 2, Out: 2, Weights: w[8:], Bias: []float64{0, 0}},
		}}
	p, err := batch.Compile(m, params.N13, packing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Manifest()
}

func TestManifestRoundTrip(t *testing.T) {
	m := compiled(t)
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back manifest.Manifest
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	again, _ := back.MarshalBinary()
	if !bytes.Equal(data, again) || back.Fingerprint() != m.Fingerprint() {
		t.Fatal("manifest changed in a round trip")
	}
	if len(m.GaloisElements) != 0 || m.Relinearize {
		t.Fatal("a batch plan should need no keys")
	}
}

func TestManifestValidation(t *testing.T) {
	tamper := map[string]func(*manifest.Manifest){
		"unknown preset":        func(m *manifest.Manifest) { m.Params = "N99" },
		"fingerprint mismatch":  func(m *manifest.Manifest) { m.ParamsFingerprint[0] ^= 1 },
		"insecure without flag": func(m *manifest.Manifest) { m.Params = params.InsecureN11.Name },
		"no packing":            func(m *manifest.Manifest) { m.Packing = "" },
		"no input ciphertexts":  func(m *manifest.Manifest) { m.InputCiphertexts = 0 },
		"logits beyond slots":   func(m *manifest.Manifest) { m.Result.ImageStride = 2 },
		"result count":          func(m *manifest.Manifest) { m.Result.Ciphertexts++ },
		"output above input":    func(m *manifest.Manifest) { m.OutputLevel = m.InputLevel + 1 },
		"too many images":       func(m *manifest.Manifest) { m.ImagesPerBatch = 1 << 20 },
		"no outputs":            func(m *manifest.Manifest) { m.Outputs = 0 },
		"bad bound":             func(m *manifest.Manifest) { m.OutputBound = -1 },
	}
	for name, f := range tamper {
		m := compiled(t)
		f(&m)
		if err := m.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if c := errs.ClassOf(err); c != errs.ErrMalformed && c != errs.ErrInsecure && c != errs.ErrInvalidArgument {
			t.Errorf("%s: class %v (%v)", name, c, err)
		}
		data, _ := m.MarshalBinary()
		var back manifest.Manifest
		if err := back.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
