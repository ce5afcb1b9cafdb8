package wire_test

// Native fuzz targets for the decoders of bytes from outside: encrypted batches,
// evaluation keys and secret keys (results and manifests: package client). Each is
// seeded with real objects made by the API; testdata/fuzz holds the past crashers,
// which `go test` replays. `make fuzz` runs them (scripts/fuzz.sh).
//
// Every target checks more than "no panic": a rejection has a class other than
// errs.ErrInternal (a recovered panic is an internal error), and an accepted object
// re-encodes to exactly the input and does not change when the input buffer is
// overwritten (no decoder output aliases its input).

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// classified fails the test if err is a failure of the library itself.
func classified(t *testing.T, err error) {
	t.Helper()
	if errs.ClassOf(err) == errs.ErrInternal || errors.Is(err, errs.ErrInternal) {
		t.Fatalf("an internal error (a bug or a recovered panic): %v", err)
	}
}

// stable fails the test unless encode, run on an object decoded from data, gives
// data back, before and after data is overwritten.
func stable(t *testing.T, data []byte, encode func() ([]byte, error)) {
	t.Helper()
	want := bytes.Clone(data)
	got, err := encode()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("an accepted object does not re-encode to its bytes (%v)", err)
	}
	for i := range data {
		data[i] ^= 0x5a
	}
	got, err = encode()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the decoded object changed with the input buffer (%v)", err)
	}
}

// smallBatch is a fixture whose objects are small enough to fuzz quickly: a network
// with two inputs (two ciphertexts per batch) at the insecure test parameters.
func smallBatch(f *testing.F) *fixture {
	f.Helper()
	m := &model.Model{Name: "fuzz", Input: model.Shape{C: 2, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Dense{In: 2, Out: 3, Weights: []float64{0.5, -0.25, 1, 0.75, -1, 0.5}, Bias: []float64{0.1, 0, -0.1}},
			model.Square{},
			&model.Dense{In: 3, Out: 2, Weights: []float64{1, -1, 0.5, 0.25, 0.5, -0.5}, Bias: []float64{0, 0.2}},
		}}
	p, err := compile.Compile(m, compile.Options{Packing: "batch", Params: params.InsecureN11.Name, AllowInsecure: true})
	if err != nil {
		f.Fatal(err)
	}
	man := p.Manifest()
	c, err := client.New(&man, client.AllowInsecure())
	if err != nil {
		f.Fatal(err)
	}
	batch, req, err := c.EncryptBytes([][]float64{{0.1, 0.9}, {0.5, 0.5}, {1, 0}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	keys, _ := c.EvaluationKeys()
	srv, err := server.New(p, keys)
	if err != nil {
		f.Fatal(err)
	}
	result, err := srv.PredictBytes(context.Background(), batch, nil)
	if err != nil {
		f.Fatal(err)
	}
	return &fixture{plan: p, manifest: man, client: c, request: req, batch: batch, result: result}
}

func FuzzEncryptedBatch(f *testing.F) {
	fx := smallBatch(f)
	prm := fx.plan.Parameters()
	f.Add(fx.batch)
	f.Add(fx.result)
	full, err := wire.DecodeCiphertexts(fx.batch, wire.KindEncryptedBatch, &fx.manifest, prm)
	if err != nil {
		f.Fatal(err)
	}
	full.Seed = nil // the unseeded form
	unseeded, err := wire.EncodeCiphertexts(wire.KindEncryptedBatch, &fx.manifest, prm, full)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(unseeded)
	f.Fuzz(func(t *testing.T, data []byte) {
		cts, err := wire.DecodeCiphertexts(data, wire.KindEncryptedBatch, &fx.manifest, prm)
		if err != nil {
			classified(t, err)
			return
		}
		stable(t, data, func() ([]byte, error) {
			return wire.EncodeCiphertexts(wire.KindEncryptedBatch, &fx.manifest, prm, cts)
		})
	})
}

func FuzzEvaluationKeys(f *testing.F) {
	// A manifest that asks for one Galois key at the lowest level: small keys.
	preset := params.InsecureN12S
	prm, err := preset.Parameters()
	if err != nil {
		f.Fatal(err)
	}
	m := smallBatch(f).manifest
	m.Params, m.ParamsFingerprint = preset.Name, params.FingerprintOf(prm)
	m.GaloisElements, m.GaloisLevels = []uint64{prm.GaloisElement(1)}, []int{0}
	sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	keys := &wire.EvaluationKeys{Params: m.ParamsFingerprint,
		Galois: []*rlwe.GaloisKey{rlwe.NewKeyGenerator(prm).GenGaloisKeyNew(m.GaloisElements[0], sk, rlwe.EvaluationKeyParameters{LevelQ: &m.GaloisLevels[0]})}}
	sealed, err := wire.EncodeEvaluationKeys(keys, &m, prm)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Fuzz(func(t *testing.T, data []byte) {
		// What a server does: the manifest the keys carry, then the keys against the
		// manifest of its own plan.
		if carried, err := wire.EvaluationKeysManifest(data); err != nil {
			classified(t, err)
		} else if err := carried.Validate(); err != nil {
			t.Fatalf("an invalid carried manifest was accepted: %v", err)
		}
		got, err := wire.DecodeEvaluationKeys(data, &m)
		if err != nil {
			classified(t, err)
			return
		}
		stable(t, data, func() ([]byte, error) { return wire.EncodeEvaluationKeys(got, &m, prm) })
	})
}

func FuzzSecretKey(f *testing.F) {
	prm, err := params.InsecureN11.Parameters()
	if err != nil {
		f.Fatal(err)
	}
	sk, err := wire.EncodeSecretKey(prm, rlwe.NewKeyGenerator(prm).GenSecretKeyNew())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sk) // testdata/fuzz holds Lattigo's format of keys, which crashed the decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := wire.DecodeSecretKey(data, prm)
		if err != nil {
			classified(t, err)
			return
		}
		stable(t, data, func() ([]byte, error) { return wire.EncodeSecretKey(prm, key) })
	})
}
