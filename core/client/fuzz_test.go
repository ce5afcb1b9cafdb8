package client_test

// Native fuzz targets for what a client reads from the other party: manifests and
// encrypted results (the other decoders: package wire). Seeded with real objects;
// testdata/fuzz holds the past crashers, which `go test` replays.

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// classified fails the test if err is a failure of the library itself.
func classified(t *testing.T, err error) {
	t.Helper()
	if errs.ClassOf(err) == errs.ErrInternal || errors.Is(err, errs.ErrInternal) {
		t.Fatalf("an internal error (a bug or a recovered panic): %v", err)
	}
}

// twoInputs is a network small enough to fuzz quickly in either packing.
func twoInputs() *model.Model {
	return &model.Model{Name: "fuzz", Input: model.Shape{C: 2, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Dense{In: 2, Out: 3, Weights: []float64{0.5, -0.25, 1, 0.75, -1, 0.5}, Bias: []float64{0.1, 0, -0.1}},
			model.Square{},
			&model.Dense{In: 3, Out: 2, Weights: []float64{1, -1, 0.5, 0.25, 0.5, -0.5}, Bias: []float64{0, 0.2}},
		}}
}

func compileFuzz(f *testing.F, packing manifest.Packing, preset params.Preset) compile.Plan {
	f.Helper()
	p, err := compile.Compile(twoInputs(), compile.Options{Packing: packing, Params: preset.Name, AllowInsecure: true})
	if err != nil {
		f.Fatal(err)
	}
	return p
}

func FuzzEncryptedResult(f *testing.F) {
	p := compileFuzz(f, "batch", params.InsecureN11)
	m := p.Manifest()
	c, err := client.New(&m, client.AllowInsecure())
	if err != nil {
		f.Fatal(err)
	}
	keys, _ := c.EvaluationKeys()
	srv, err := server.New(p, keys)
	if err != nil {
		f.Fatal(err)
	}
	images := [][]float64{{0.1, 0.9}, {0.5, 0.5}, {1, 0}}
	batch, req, err := c.EncryptBytes(images, nil)
	if err != nil {
		f.Fatal(err)
	}
	result, err := srv.PredictBytes(context.Background(), batch, nil)
	if err != nil {
		f.Fatal(err)
	}
	want, err := c.DecryptBytes(req, result)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(result)
	f.Add(batch)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := c.DecryptBytes(req, data)
		if err != nil {
			classified(t, err)
			return
		}
		// Accepted: then it is the right answer, whatever bytes changed.
		if len(got) != len(want) {
			t.Fatalf("%d rows accepted for a request of %d images", len(got), len(want))
		}
		for i := range got {
			for j := range got[i] {
				if math.Abs(got[i][j]-want[i][j]) > 1e-3 {
					t.Fatalf("a result that decrypts to logit %g instead of %g was accepted", got[i][j], want[i][j])
				}
			}
		}
	})
}

// The forms FuzzManifest reads its input in: the envelope as it is, or a payload
// that the target seals with matching fingerprints for one of two parameter sets (so
// that the fuzzer explores the manifest itself, as a hostile server can).
const (
	asEnvelope = iota
	sealedForN11
	sealedForN12S
)

func FuzzManifest(f *testing.F) {
	fingerprints := map[uint8]params.Fingerprint{}
	for form, preset := range map[uint8]params.Preset{sealedForN11: params.InsecureN11, sealedForN12S: params.InsecureN12S} {
		prm, err := preset.Parameters()
		if err != nil {
			f.Fatal(err)
		}
		fingerprints[form] = params.FingerprintOf(prm)
	}
	for _, p := range []compile.Plan{compileFuzz(f, "batch", params.InsecureN11), compileFuzz(f, "single", params.InsecureN12S)} {
		m := p.Manifest()
		data, err := wire.EncodeManifest(&m)
		if err != nil {
			f.Fatal(err)
		}
		form := uint8(sealedForN11)
		if m.Packing == "single" {
			form = sealedForN12S
			// One Galois key only, so that accepted mutations make their keys quickly.
			m.GaloisElements, m.GaloisLevels = m.GaloisElements[:1], m.GaloisLevels[:1]
		}
		payload, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(asEnvelope))
		f.Add(payload, form)
	}
	f.Fuzz(func(t *testing.T, data []byte, form uint8) {
		if fp, ok := fingerprints[form]; ok {
			data = wire.Seal(wire.Header{Kind: wire.KindManifest, Params: fp, Plan: sha256.Sum256(data)}, data)
		}
		m, err := wire.DecodeManifest(data)
		if err != nil {
			classified(t, err)
			return
		}
		// What a client does with a manifest: a key, an encrypted request, and the
		// evaluation keys it lists (when they are few enough to make quickly).
		c, err := client.New(m, client.AllowInsecure())
		if err != nil {
			classified(t, err)
			return
		}
		image := make([]float64, m.Input.Size())
		for i := range image {
			image[i] = m.InputRange[0]
		}
		if _, err := c.Encrypt([][]float64{image}, nil); err != nil {
			classified(t, err)
		}
		if len(m.GaloisElements)+boolInt(m.Relinearize) <= 2 && m.Input.Size() <= 1<<12 {
			if _, err := c.EvaluationKeysBytes(); err != nil {
				classified(t, err)
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
