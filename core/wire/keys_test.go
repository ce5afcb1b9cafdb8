package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// keysFixture is a manifest that asks for a relinearization key and two Galois keys,
// with keys made for it.
type keysFixture struct {
	manifest manifest.Manifest
	keys     *wire.EvaluationKeys
	sealed   []byte
}

func newKeysFixture(t testing.TB) *keysFixture {
	t.Helper()
	preset := params.InsecureN12S
	prm, err := preset.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	m := compileTiny(t, params.InsecureN11, 4).Manifest()
	m.Params, m.ParamsFingerprint = preset.Name, params.FingerprintOf(prm)
	m.Relinearize = true
	m.GaloisElements = []uint64{prm.GaloisElement(1), prm.GaloisElement(4)}
	m.GaloisLevels = []int{prm.MaxLevel(), prm.MaxLevel()}
	sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	kgen := rlwe.NewKeyGenerator(prm)
	keys := &wire.EvaluationKeys{Params: m.ParamsFingerprint, Relinearization: kgen.GenRelinearizationKeyNew(sk),
		Galois: kgen.GenGaloisKeysNew(m.GaloisElements, sk)}
	sealed, err := wire.EncodeEvaluationKeys(keys, &m, prm)
	if err != nil {
		t.Fatal(err)
	}
	return &keysFixture{manifest: m, keys: keys, sealed: sealed}
}

func TestEvaluationKeysRoundTripExactly(t *testing.T) {
	f := newKeysFixture(t)
	got, err := wire.DecodeEvaluationKeys(f.sealed, &f.manifest)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Relinearization.Equal(f.keys.Relinearization) || len(got.Galois) != len(f.keys.Galois) {
		t.Fatal("relinearization key differs")
	}
	for i := range got.Galois {
		if !got.Galois[i].Equal(f.keys.Galois[i]) {
			t.Fatalf("Galois key %d differs", i)
		}
	}
	prm, _ := f.manifest.Parameters()
	again, err := wire.EncodeEvaluationKeys(got, &f.manifest, prm)
	if err != nil || !bytes.Equal(again, f.sealed) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
	lattigoSize := f.keys.Relinearization.BinarySize() + f.keys.Galois[0].BinarySize() + f.keys.Galois[1].BinarySize()
	if len(f.sealed) >= lattigoSize {
		t.Fatalf("sealed keys take %d bytes, Lattigo's own format %d: packing should be smaller", len(f.sealed), lattigoSize)
	}
}

func TestBadEvaluationKeysAreRejected(t *testing.T) {
	f := newKeysFixture(t)
	prm, _ := f.manifest.Parameters()
	man, _ := f.manifest.MarshalBinary()
	payload := wire.HeaderSize + 4 + len(man) // the keys follow the manifest they carry
	cases := map[string]struct {
		data []byte
		want error
	}{
		"truncated": {f.sealed[:len(f.sealed)-1], errs.ErrMalformed},
		"extended":  {append(bytes.Clone(f.sealed), 0), errs.ErrMalformed},
		"empty":     {nil, errs.ErrMalformed},
	}
	wrongElement := bytes.Clone(f.sealed)
	// The first key is the relinearization key; the second key's header follows it.
	binary.LittleEndian.PutUint64(wrongElement[payload+4:], 3)
	cases["relinearization key labelled as a Galois key"] = struct {
		data []byte
		want error
	}{wrongElement, errs.ErrMismatch}
	unreduced := bytes.Clone(f.sealed)
	for i := payload + 4 + 12; i < payload+4+12+64; i++ {
		unreduced[i] = 0xff
	}
	cases["unreduced coefficients"] = struct {
		data []byte
		want error
	}{unreduced, errs.ErrMalformed}
	for name, c := range cases {
		if _, err := wire.DecodeEvaluationKeys(c.data, &f.manifest); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}

	// Keys for another plan, and a set missing a key, are refused.
	other := f.manifest
	other.GaloisElements = []uint64{prm.GaloisElement(1), prm.GaloisElement(2)}
	if _, err := wire.DecodeEvaluationKeys(f.sealed, &other); !errors.Is(err, errs.ErrMismatch) {
		t.Errorf("keys for another plan: %v", err)
	}
	if _, err := wire.EncodeEvaluationKeys(f.keys, &other, prm); !errors.Is(err, errs.ErrMismatch) {
		t.Errorf("encoding keys the manifest does not list: %v", err)
	}
	missing := *f.keys
	missing.Galois = missing.Galois[:1]
	if _, err := wire.EncodeEvaluationKeys(&missing, &f.manifest, prm); !errors.Is(err, errs.ErrMismatch) {
		t.Errorf("encoding with a key missing: %v", err)
	}

	// The manifest the keys carry: read back alone, and refused once tampered.
	carried, err := wire.EvaluationKeysManifest(f.sealed)
	if err != nil || carried.Fingerprint() != f.manifest.Fingerprint() {
		t.Errorf("carried manifest: %v", err)
	}
	tampered := bytes.Clone(f.sealed)
	tampered[wire.HeaderSize+4+len(man)/2] ^= 1
	if _, err := wire.EvaluationKeysManifest(tampered); err == nil {
		t.Error("a tampered carried manifest was accepted")
	}
	if _, err := wire.DecodeEvaluationKeys(tampered, &f.manifest); !errors.Is(err, errs.ErrMismatch) {
		t.Errorf("keys carrying another manifest: %v", err)
	}

	// Random bytes in a valid envelope never crash the decoder.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		junk := bytes.Clone(f.sealed)
		for i := payload; i < len(junk); i += 1 + rng.IntN(4096) {
			junk[i] = byte(rng.Uint32())
		}
		_, _ = wire.DecodeEvaluationKeys(junk, &f.manifest)
	}
}
