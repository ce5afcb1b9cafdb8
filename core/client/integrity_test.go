package client_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// smallNet is a convolutional network small enough for both packings at the insecure
// test parameters.
func smallNet() *model.Model {
	rng := rand.New(rand.NewPCG(5, 6))
	randn := func(n int, s float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64() * s
		}
		return v
	}
	return &model.Model{Name: "small", Input: model.Shape{C: 1, H: 6, W: 6}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Conv2D{InChannels: 1, OutChannels: 2, KernelH: 3, KernelW: 3, StrideH: 1, StrideW: 1, Weights: randn(18, 0.4), Bias: randn(2, 0.1)},
			model.Square{},
			model.Flatten{},
			&model.Dense{In: 32, Out: 4, Weights: randn(128, 0.3), Bias: randn(4, 0.1)},
		}}
}

// party is a compiled plan, a client with its evaluation keys and a server holding
// them.
type party struct {
	plan     compile.Plan
	manifest manifest.Manifest
	client   *client.Client
	server   *server.Server
}

func newParty(t *testing.T, packingName manifest.Packing, images int) *party {
	t.Helper()
	preset := params.InsecureN11
	if packingName == "single" {
		preset = params.InsecureN12S
	}
	p, err := compile.Compile(smallNet(), compile.Options{Packing: packingName, Params: preset.Name, AllowInsecure: true,
		Tuning: packing.Options{ImagesPerRequest: images}})
	if err != nil {
		t.Fatal(err)
	}
	m := p.Manifest()
	c, err := client.New(&m, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	return &party{plan: p, manifest: m, client: c, server: serverWith(t, p, c)}
}

// serverWith is a server for plan p holding c's evaluation keys.
func serverWith(t *testing.T, p compile.Plan, c *client.Client) *server.Server {
	t.Helper()
	keys, err := c.EvaluationKeys()
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func images(n int, shift float64) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, 36)
		for k := range out[i] {
			out[i][k] = float64((i*7+k)%11)/10*0.9 + shift
		}
	}
	return out
}

// request encrypts n images and returns the request and the server's sealed result.
func (p *party) request(t *testing.T, srv *server.Server, n int, shift float64) (wire.Request, []byte) {
	t.Helper()
	up, req, err := p.client.EncryptBytes(images(n, shift), nil)
	if err != nil {
		t.Fatal(err)
	}
	down, err := srv.PredictBytes(context.Background(), up, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req, down
}

// mustDecrypt checks that the client still decrypts a good result correctly.
func (p *party) mustDecrypt(t *testing.T, req wire.Request, result []byte, n int) {
	t.Helper()
	logits, err := p.client.DecryptBytes(req, result)
	if err != nil {
		t.Fatalf("a good result after the failures: %v", err)
	}
	if len(logits) != n {
		t.Fatalf("%d rows, want %d", len(logits), n)
	}
}

func wantClass(t *testing.T, what string, err, class error) {
	t.Helper()
	if !errors.Is(err, class) || errs.ClassOf(err) != class {
		t.Errorf("%s: %v, want class %v", what, err, class)
	}
}

var packings = []manifest.Packing{"batch", "single"}

// TestWrongKeysAndTamperingFailTheChecks is hole 2 of issue 12: with single-image
// packing, a server holding another client's evaluation keys (same parameters) gave
// results that decrypted to wrong labels without error, and so did a tampered result.
// The check values hidden among the images catch both, in both packings.
func TestWrongKeysAndTamperingFailTheChecks(t *testing.T) {
	for _, pk := range packings {
		t.Run(string(pk), func(t *testing.T) {
			p := newParty(t, pk, 0)
			n := min(3, p.manifest.ImagesPerBatch)
			if pk == "single" {
				// Another client's evaluation keys for the same manifest.
				other, err := client.New(&p.manifest, client.AllowInsecure())
				if err != nil {
					t.Fatal(err)
				}
				req, res := p.request(t, serverWith(t, p.plan, other), n, 0)
				_, err = p.client.DecryptBytes(req, res)
				wantClass(t, "another client's evaluation keys", err, errs.ErrIntegrity)
			}
			req, good := p.request(t, p.server, n, 0)
			// Another secret key: the request is not its own (the tag is keyed).
			stranger, err := client.New(&p.manifest, client.AllowInsecure())
			if err != nil {
				t.Fatal(err)
			}
			_, err = stranger.DecryptBytes(req, good)
			wantClass(t, "another client's secret key", err, errs.ErrIntegrity)
			restored, err := client.Restore(&p.manifest, mustExport(t, p.client), client.AllowInsecure())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := restored.DecryptBytes(req, good); err != nil {
				t.Fatalf("the same key restored: %v", err)
			}
			// Tampered coefficients: every change that still decodes fails the checks.
			_, h, err := wire.PeekCiphertexts(good)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			start := len(good) - h.CoefficientBytes
			tampered := 0
			for tampered < 5 {
				bad := bytes.Clone(good)
				bad[start+rng.IntN(h.CoefficientBytes)] ^= byte(1 << rng.IntN(8))
				_, err := p.client.DecryptBytes(req, bad)
				if errors.Is(err, errs.ErrMalformed) {
					continue // a coefficient no longer below its prime
				}
				wantClass(t, "tampered result", err, errs.ErrIntegrity)
				tampered++
			}
			p.mustDecrypt(t, req, good, n)
		})
	}
}

// TestResultsAreBoundToTheirRequest is hole 5 of issue 12: the result of request 1 was
// accepted as the answer to request 2, and a result relabelled from 2 images to 7
// gave 7 rows.
func TestResultsAreBoundToTheirRequest(t *testing.T) {
	for _, pk := range packings {
		t.Run(string(pk), func(t *testing.T) {
			p := newParty(t, pk, map[manifest.Packing]int{"single": 2}[pk]) // single packing: 2 images, 4 lanes
			req1, res1 := p.request(t, p.server, 2, 0)
			req2, res2 := p.request(t, p.server, 2, 0.05)
			_, err := p.client.DecryptBytes(req2, res1)
			wantClass(t, "the result of request 1 for request 2", err, errs.ErrMismatch)

			// The image count relabelled: the request's tag no longer holds.
			relabelled := bytes.Clone(res1)
			binary.LittleEndian.PutUint32(relabelled[wire.HeaderSize:], 1)
			_, err = p.client.DecryptBytes(req1, relabelled)
			wantClass(t, "image count changed", err, errs.ErrIntegrity)
			if pk == "batch" {
				binary.LittleEndian.PutUint32(relabelled[wire.HeaderSize:], 7)
				_, err = p.client.DecryptBytes(req1, relabelled)
				wantClass(t, "2 images relabelled as 7", err, errs.ErrIntegrity)
			}

			// A server that relabels request 1's result as request 2's: the check
			// values sit elsewhere in request 2.
			replayed := bytes.Clone(res1)
			copy(replayed[wire.HeaderSize+16:], req2.Bytes())
			_, err = p.client.DecryptBytes(req2, replayed)
			wantClass(t, "request 1's result relabelled as request 2's", err, errs.ErrIntegrity)

			p.mustDecrypt(t, req1, res1, 2)
			p.mustDecrypt(t, req2, res2, 2)
		})
	}
}

func mustExport(t *testing.T, c *client.Client) []byte {
	t.Helper()
	sk, err := c.ExportSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// TestHostileManifestsMakeNoKeys is hole 4 of issue 12: Galois element 3 passed
// validation and crashed key generation, a single-packing manifest whose logits do
// not fit in the slots crashed decryption, and a manifest could ask for gigabytes of
// keys. Each is an error before any key is made.
func TestHostileManifestsMakeNoKeys(t *testing.T) {
	p := newParty(t, "single", 0)
	good := p.manifest
	seal := func(m manifest.Manifest) []byte {
		// An envelope whose fingerprints match the tampered manifest.
		data, err := wire.EncodeManifest(&m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	copyOf := func() manifest.Manifest {
		m := good
		m.GaloisElements = append([]uint64(nil), good.GaloisElements...)
		m.GaloisLevels = append([]int(nil), good.GaloisLevels...)
		return m
	}
	three := copyOf()
	three.GaloisElements[0] = 3
	prm := p.plan.Parameters()
	wide := copyOf()
	wide.Outputs = prm.MaxSlots()
	wide.Result.PerCiphertext = wide.Outputs
	for name, m := range map[string]manifest.Manifest{"Galois element 3": three, "logits beyond the slots": wide} {
		_, err := client.New(&m, client.AllowInsecure())
		wantClass(t, name, err, errs.ErrMalformed)
		_, err = wire.DecodeManifest(seal(m))
		wantClass(t, name+" (sealed)", err, errs.ErrMalformed)
	}

	// 512 Galois keys at log N = 14: gigabytes. The client refuses before making any.
	deep, err := compile.Compile(smallNet(), compile.Options{Packing: "single", Params: params.N14S.Name})
	if err != nil {
		t.Fatal(err)
	}
	many := deep.Manifest()
	many.GaloisElements, many.GaloisLevels = nil, nil
	for g := uint64(5); len(many.GaloisElements) < 512; g += 4 {
		many.GaloisElements = append(many.GaloisElements, g)
		many.GaloisLevels = append(many.GaloisLevels, deep.Parameters().MaxLevel())
	}
	size, err := wire.EvaluationKeysSize(&many, deep.Parameters())
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.New(&many)
	wantClass(t, "512 Galois keys", err, errs.ErrLimit)
	// The limit is the client's: lower it and the real manifest is refused, raise it
	// and the large one is accepted (no key is made by New).
	_, err = client.New(&good, client.AllowInsecure(), client.MaxEvaluationKeyBytes(1<<20))
	wantClass(t, "a 1 MiB limit", err, errs.ErrLimit)
	if _, err := client.New(&many, client.MaxEvaluationKeyBytes(size)); err != nil {
		t.Fatalf("a limit of %d bytes: %v", size, err)
	}
	t.Logf("512 Galois keys at log N = 14 take %d MiB", size>>20)
	// The process is unharmed: the good manifest still makes a working client.
	req, res := p.request(t, p.server, 1, 0)
	p.mustDecrypt(t, req, res, 1)
}

// TestEveryRotationElementMakesAKey checks the rotation-group rule of manifests
// against Lattigo: keys for elements ≡ 1 (mod 4) are made, and every element it
// admits indexes inside the ring.
func TestEveryRotationElementMakesAKey(t *testing.T) {
	prm, err := params.InsecureN12S.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	root := prm.RingQ().NthRoot()
	for k := range prm.MaxSlots() {
		if g := prm.GaloisElement(k); !manifest.RotationElement(g, root) {
			t.Fatalf("rotation by %d is element %d, which the rule rejects", k, g)
		}
	}
	if manifest.RotationElement(3, root) || manifest.RotationElement(root+1, root) || manifest.RotationElement(root-1, root) {
		t.Fatal("the rule admits a non-rotation")
	}
}
