package wire_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/hostile"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/ring"
)

func tinyModel(rng *rand.Rand, hidden int) *model.Model {
	randn := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64() * 0.2
		}
		return v
	}
	return &model.Model{Name: "tiny", Input: model.Shape{C: 1, H: 4, W: 4}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			model.Flatten{},
			&model.Dense{In: 16, Out: hidden, Weights: randn(16 * hidden), Bias: randn(hidden)},
			model.Square{},
			&model.Dense{In: hidden, Out: 3, Weights: randn(3 * hidden), Bias: randn(3)},
		}}
}

func compileTiny(t testing.TB, preset params.Preset, hidden int) compile.Plan {
	t.Helper()
	p, err := compile.Compile(tinyModel(rand.New(rand.NewPCG(7, uint64(hidden))), hidden),
		compile.Options{Params: preset.Name, AllowInsecure: preset.Insecure})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture is a compiled plan with a client, an encrypted batch and a result, sealed.
type fixture struct {
	plan     compile.Plan
	manifest manifest.Manifest
	client   *client.Client
	request  wire.Request
	batch    []byte
	result   []byte
}

func newFixture(t testing.TB, preset params.Preset, hidden int) *fixture {
	t.Helper()
	p := compileTiny(t, preset, hidden)
	m := p.Manifest()
	c, err := client.New(&m, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	imgs := make([][]float64, 5)
	for i := range imgs {
		imgs[i] = make([]float64, 16)
		for k := range imgs[i] {
			imgs[i][k] = float64((i+k)%5) / 4
		}
	}
	enc, err := c.Encrypt(imgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.EncodeCiphertexts(wire.KindEncryptedBatch, &m, p.Parameters(), enc)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.EvaluationKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	r, err := srv.PredictBytes(context.Background(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{plan: p, manifest: m, client: c, request: enc.Request, batch: b, result: r}
}

func TestRoundTripsAreByteExact(t *testing.T) {
	f := newFixture(t, params.InsecureN11, 6)
	prm := f.plan.Parameters()
	for name, kind := range map[string]wire.Kind{"batch": wire.KindEncryptedBatch, "result": wire.KindEncryptedResult} {
		data := f.batch
		if kind == wire.KindEncryptedResult {
			data = f.result
		}
		cts, err := wire.DecodeCiphertexts(data, kind, &f.manifest, prm)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, err := wire.EncodeCiphertexts(kind, &f.manifest, prm, cts)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("%s: re-encoding differs (%v)", name, err)
		}
	}
	mb, err := wire.EncodeManifest(&f.manifest)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := wire.DecodeManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	if mb2, _ := wire.EncodeManifest(m2); !bytes.Equal(mb, mb2) {
		t.Fatal("manifest re-encoding differs")
	}
	sk, err := f.client.ExportSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := client.Restore(&f.manifest, sk, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	if sk2, _ := restored.ExportSecretKey(); !bytes.Equal(sk, sk2) {
		t.Fatal("secret key re-encoding differs")
	}
	// The restored client decrypts what the original encrypted.
	a, err := f.client.DecryptBytes(f.request, f.result)
	if err != nil {
		t.Fatal(err)
	}
	b, err := restored.DecryptBytes(f.request, f.result)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatal("restored client decrypts differently")
			}
		}
	}
	ek, err := f.client.EvaluationKeysBytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wire.DecodeEvaluationKeys(ek, &f.manifest); err != nil {
		t.Fatal(err)
	}
}

func TestBadInputIsRejected(t *testing.T) {
	f := newFixture(t, params.InsecureN11, 6)
	other := newFixture(t, params.InsecureN11, 7) // same parameters, another plan
	prm := f.plan.Parameters()
	corrupt := func(data []byte, at int) []byte {
		c := bytes.Clone(data)
		c[at] ^= 0xff
		return c
	}
	cases := map[string]struct {
		data []byte
		kind wire.Kind
		want error
	}{
		"truncated":           {f.batch[:len(f.batch)-9], wire.KindEncryptedBatch, errs.ErrMalformed},
		"truncated header":    {f.batch[:20], wire.KindEncryptedBatch, errs.ErrMalformed},
		"extended":            {append(bytes.Clone(f.batch), 0), wire.KindEncryptedBatch, errs.ErrMalformed},
		"bad magic":           {corrupt(f.batch, 0), wire.KindEncryptedBatch, errs.ErrMalformed},
		"bad version":         {corrupt(f.batch, 4), wire.KindEncryptedBatch, errs.ErrMalformed},
		"corrupt fingerprint": {corrupt(f.batch, 10), wire.KindEncryptedBatch, errs.ErrMismatch},
		"wrong kind":          {f.result, wire.KindEncryptedBatch, errs.ErrMismatch},
		"other plan":          {other.batch, wire.KindEncryptedBatch, errs.ErrMismatch},
		"empty":               {nil, wire.KindEncryptedBatch, errs.ErrMalformed},
	}
	for name, c := range cases {
		_, err := wire.DecodeCiphertexts(c.data, c.kind, &f.manifest, prm)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	// A coefficient that is not reduced modulo its prime.
	bad := bytes.Clone(f.batch)
	for i := len(bad) - 8; i < len(bad); i++ {
		bad[i] = 0xff
	}
	if _, err := wire.DecodeCiphertexts(bad, wire.KindEncryptedBatch, &f.manifest, prm); !errors.Is(err, errs.ErrMalformed) {
		t.Errorf("unreduced coefficient: %v", err)
	}
	// Every truncation of a secret key fails cleanly before Lattigo sees it.
	sk, _ := f.client.ExportSecretKey()
	for _, n := range []int{0, 10, wire.HeaderSize, len(sk) / 2, len(sk) - 1} {
		if _, err := client.Restore(&f.manifest, sk[:n], client.AllowInsecure()); err == nil {
			t.Errorf("secret key truncated to %d bytes accepted", n)
		}
	}
}

func TestOtherParametersAreRejected(t *testing.T) {
	small := newFixture(t, params.InsecureN11, 6)
	p := compileTiny(t, params.N13, 6)
	m := p.Manifest()
	if _, err := wire.DecodeCiphertexts(small.batch, wire.KindEncryptedBatch, &m, p.Parameters()); !errors.Is(err, errs.ErrMismatch) {
		t.Fatalf("batch for other parameters: %v", err)
	}
	ek, _ := small.client.EvaluationKeysBytes()
	if _, err := wire.DecodeEvaluationKeys(ek, &m); !errors.Is(err, errs.ErrMismatch) {
		t.Fatalf("evaluation keys for other parameters: %v", err)
	}
	smallKeys, _ := small.client.EvaluationKeys()
	if _, err := server.New(p, smallKeys); !errors.Is(err, errs.ErrMismatch) {
		t.Fatalf("server accepted keys for other parameters: %v", err)
	}
	sk, _ := small.client.ExportSecretKey()
	if _, err := client.Restore(&m, sk); !errors.Is(err, errs.ErrMismatch) {
		t.Fatalf("secret key for other parameters: %v", err)
	}
}

func TestWrongSecretKeyIsAnError(t *testing.T) {
	f := newFixture(t, params.InsecureN11, 6)
	stranger, err := client.New(&f.manifest, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.DecryptBytes(f.request, f.result); err == nil {
		t.Fatal("a result decrypted with another client's key gave no error")
	}
}

// TestSeededBatchesHalveTheUpload checks that a seeded batch carries only c0 and the
// seed, that the server regenerates c1 exactly, and that a tampered seed cannot pass
// for a valid result.
func TestSeededBatchesHalveTheUpload(t *testing.T) {
	f := newFixture(t, params.InsecureN11, 6)
	prm := f.plan.Parameters()
	seeded, err := wire.DecodeCiphertexts(f.batch, wire.KindEncryptedBatch, &f.manifest, prm)
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded.Seed) != wire.SeedSize {
		t.Fatal("client batches should be seeded")
	}
	full := &wire.Ciphertexts{Images: seeded.Images, Ciphertexts: seeded.Ciphertexts}
	fullBytes, err := wire.EncodeCiphertexts(wire.KindEncryptedBatch, &f.manifest, prm, full)
	if err != nil {
		t.Fatal(err)
	}
	if ratio := float64(len(f.batch)) / float64(len(fullBytes)); ratio > 0.51 {
		t.Fatalf("seeded batch is %.2f of the full one", ratio)
	}
	// The full form of the regenerated ciphertexts decodes to the same ciphertexts.
	again, err := wire.DecodeCiphertexts(fullBytes, wire.KindEncryptedBatch, &f.manifest, prm)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again.Ciphertexts {
		if !again.Ciphertexts[i].Equal(seeded.Ciphertexts[i]) {
			t.Fatalf("ciphertext %d differs between seeded and full forms", i)
		}
	}
	// A different seed regenerates other c1 halves: the result must not decrypt.
	h, c, err := wire.PeekCiphertexts(f.batch)
	if err != nil || !c.Seeded || h.Kind != wire.KindEncryptedBatch {
		t.Fatalf("peek: %+v %v", c, err)
	}
	tampered := bytes.Clone(f.batch)
	seedAt := len(tampered) - c.CoefficientBytes - 1
	tampered[seedAt] ^= 1
	keys, _ := f.client.EvaluationKeys()
	srv, _ := server.New(f.plan, keys)
	result, err := srv.PredictBytes(context.Background(), tampered, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.DecryptBytes(f.request, result); err == nil {
		t.Fatal("a batch with a tampered seed gave a result that decrypted without error")
	}
}

func TestClientsRefuseInsecureManifestsByDefault(t *testing.T) {
	m := compileTiny(t, params.InsecureN11, 6).Manifest()
	if _, err := client.New(&m); !errors.Is(err, errs.ErrInsecure) {
		t.Fatalf("insecure manifest accepted without opt-in: %v", err)
	}
}

// TestDecodedObjectsDoNotAliasTheirInput is hole 3 of issue 12: the batch decoder kept
// the seed as a slice of the caller's buffer, so overwriting (or, from C and Python,
// freeing) the buffer after the call changed the batch. Every decoder's output must
// survive the caller's buffer being overwritten.
func TestDecodedObjectsDoNotAliasTheirInput(t *testing.T) {
	f := newFixture(t, params.InsecureN11, 6)
	prm := f.plan.Parameters()
	for name, kind := range map[string]wire.Kind{"batch": wire.KindEncryptedBatch, "result": wire.KindEncryptedResult} {
		data := bytes.Clone(f.batch)
		if kind == wire.KindEncryptedResult {
			data = bytes.Clone(f.result)
		}
		want := bytes.Clone(data)
		cts, err := wire.DecodeCiphertexts(data, kind, &f.manifest, prm)
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			data[i] = 0xa5
		}
		again, err := wire.EncodeCiphertexts(kind, &f.manifest, prm, cts)
		if err != nil || !bytes.Equal(again, want) {
			t.Fatalf("%s: the decoded object changed with the caller's buffer (%v)", name, err)
		}
	}
	mb, _ := wire.EncodeManifest(&f.manifest)
	want := bytes.Clone(mb)
	m, err := wire.DecodeManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	for i := range mb {
		mb[i] = 0xa5
	}
	if again, _ := wire.EncodeManifest(m); !bytes.Equal(again, want) {
		t.Fatal("manifest: the decoded object changed with the caller's buffer")
	}
}

// TestCBORReproducers writes (checks) the reproducers of hole 7 for the C and Python
// tests: ten bytes of CBOR declaring two nested arrays of 0x30303030 items, which
// allocated 64 MiB, as a model file and as the payload of a manifest envelope whose
// fingerprints match it (so that the CBOR decoder is what rejects it).
func TestCBORReproducers(t *testing.T) {
	doc := []byte{0x9a, 0x30, 0x30, 0x30, 0x30, 0x9a, 0x30, 0x30, 0x30, 0x30}
	prm, err := params.InsecureN11.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	envelope := wire.Seal(wire.Header{Kind: wire.KindManifest, Params: params.FingerprintOf(prm), Plan: sha256.Sum256(doc)}, doc)
	hostile.Check(t, "cbor_nested_arrays.cnm", doc)
	hostile.Check(t, "cbor_nested_arrays_manifest.bin", envelope)
	if _, err := wire.DecodeManifest(envelope); !errors.Is(err, errs.ErrMalformed) {
		t.Fatalf("%v, want a malformed-input error", err)
	}
	var m model.Model
	if err := m.UnmarshalBinary(doc); !errors.Is(err, errs.ErrMalformed) {
		t.Fatalf("%v, want a malformed-input error", err)
	}
}

// TestSeededBatchWritesTheBatch seals a client's batch again from its parts, its c0
// components handed over one at a time (WriteSeededBatch, as Client.WriteUpload
// does), and through a sequence writer: the same bytes.
func TestSeededBatchWritesTheBatch(t *testing.T) {
	f := newFixture(t, params.InsecureN11, 6)
	prm := f.plan.Parameters()
	cts, err := wire.DecodeCiphertexts(f.batch, wire.KindEncryptedBatch, &f.manifest, prm)
	if err != nil {
		t.Fatal(err)
	}
	first := cts.Ciphertexts[0]
	b := &wire.SeededBatch{Images: cts.Images, Request: cts.Request, Seed: cts.Seed, Count: len(cts.Ciphertexts), Level: first.Level(), Scale: first.Scale}
	c0 := func(_, k int) (ring.Poly, error) { return cts.Ciphertexts[k].Value[0], nil }
	var got bytes.Buffer
	n, err := wire.WriteSeededBatch(&got, &f.manifest, prm, b, 2, c0)
	if err != nil || n != int64(got.Len()) || !bytes.Equal(got.Bytes(), f.batch) {
		t.Fatalf("WriteSeededBatch wrote %d bytes (%d counted) that differ from the batch's %d (%v)", got.Len(), n, len(f.batch), err)
	}
	got.Reset()
	sw, err := wire.NewSequenceWriter(&got, wire.KindEncryptedBatch, &f.manifest, prm, 1, cts.Images)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.WriteSeeded(b, 3, c0); err != nil || sw.Close() != nil || !bytes.Equal(got.Bytes(), f.batch) {
		t.Fatalf("SequenceWriter.WriteSeeded: %v", err)
	}
	if err := sw.WriteSeeded(b, 3, c0); err == nil {
		t.Fatal("a request beyond the sequence's was written")
	}
	down, err := wire.NewSequenceWriter(new(bytes.Buffer), wire.KindEncryptedResult, &f.manifest, prm, 1, cts.Images)
	if err != nil {
		t.Fatal(err)
	}
	if err := down.WriteSeeded(b, 1, c0); err == nil {
		t.Fatal("a seeded batch was written into a download")
	}
}
