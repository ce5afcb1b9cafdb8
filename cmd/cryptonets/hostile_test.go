package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/wire"
)

// TestHostileReproducers runs the reproducers of issue 12 through the command that
// reads each: an exit code of the right class and one line on stderr, never a
// signal or a trace, and the next command works.
func TestHostileReproducers(t *testing.T) {
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	hostile := func(name string) string { return filepath.Join("..", "..", "models", "fixtures", "hostile", name) }
	write := func(name string, data []byte) string {
		if err := os.WriteFile(f(name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		return f(name)
	}
	read := func(name string) []byte {
		data, err := os.ReadFile(f(name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	exits := func(class error, want string, args ...string) {
		t.Helper()
		r := cn(t, args...)
		fails(t, r, want)
		if r.code != errs.Code(class) {
			t.Errorf("cryptonets %v: exit %d, want %d (%v): %s", args, r.code, errs.Code(class), class, r.stderr)
		}
	}

	// A single-packing plan of a small network, with a client and a request.
	tiny := &model.Model{Name: "tiny", Input: model.Shape{C: 1, H: 28, W: 28}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			model.Flatten{},
			&model.Dense{In: 784, Out: 2, Weights: filledWeights(1568), Bias: []float64{0.1, -0.1}},
			model.Square{},
			&model.Dense{In: 2, Out: 2, Weights: []float64{1, -1, 0.5, 0.5}, Bias: []float64{0, 0.1}},
		}}
	if err := tiny.Save(f("tiny.cnm")); err != nil {
		t.Fatal(err)
	}
	ok(t, "manifest", f("tiny.cnm"), "-o", f("manifest.bin"), "--packing", "single", "--params", "InsecureN12QP215S", "--insecure")
	keygen := func(name string) {
		ok(t, "keygen", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f(name+".sk"), "--eval-keys", f(name+".evk"))
	}
	keygen("alice")
	keygen("mallory")
	encrypt := func(out string, offset string) {
		ok(t, "encrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("alice.sk"), "--images", "1", "--offset", offset, "-o", f(out))
	}
	predict := func(evk, in, out string) {
		ok(t, "predict", "--model", f("tiny.cnm"), "--eval-keys", f(evk), "--in", f(in), "-o", f(out), "--insecure")
	}
	decrypt := func(request, result string) []string {
		return []string{"decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("alice.sk"), "--request", f(request), "--in", result}
	}
	encrypt("b1.bin", "0")
	encrypt("b2.bin", "1")
	predict("alice.evk", "b1.bin", "r1.bin")
	predict("alice.evk", "b2.bin", "r2.bin")

	// Hole 1: Lattigo's encoding of a key for InsecureN11QP215, with a length field
	// inflated (the key is read before the result).
	ok(t, "manifest", f("tiny.cnm"), "-o", f("manifest11.bin"), "--packing", "batch", "--params", "InsecureN11QP215", "--insecure")
	for _, name := range []string{"secret_key_row_length.bin", "secret_key_limb_count.bin"} {
		exits(errs.ErrMalformed, "secret key", "decrypt", "--insecure", "--manifest", f("manifest11.bin"), "--secret-key", hostile(name),
			"--request", f("b1.bin"), "--in", f("r1.bin"))
	}
	// Hole 2: a server holding another client's evaluation keys.
	predict("mallory.evk", "b1.bin", "wrong.bin")
	exits(errs.ErrIntegrity, "check values", decrypt("b1.bin", f("wrong.bin"))...)
	// Hole 4: Galois element 3, resealed as a hostile server would.
	man := read("manifest.bin")
	m, err := wire.DecodeManifest(man)
	if err != nil {
		t.Fatal(err)
	}
	m.GaloisElements[0] = 3
	payload, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	three := write("three.bin", wire.Seal(wire.Header{Kind: wire.KindManifest, Params: m.ParamsFingerprint, Plan: sha256.Sum256(payload)}, payload))
	exits(errs.ErrMalformed, "not a rotation", "keygen", "--insecure", "--manifest", three, "--secret-key", f("x.sk"), "--eval-keys", f("x.evk"))
	exits(errs.ErrLimit, "limit", "keygen", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("x.sk"), "--eval-keys", f("x.evk"),
		"--max-eval-key-bytes", "100000")
	// Hole 5: another request's result, a relabelled image count, a relabelled request.
	exits(errs.ErrMismatch, "another request", decrypt("b2.bin", f("r1.bin"))...)
	relabelled := bytes.Clone(read("r1.bin"))
	binary.LittleEndian.PutUint32(relabelled[wire.HeaderSize:], 2)
	exits(errs.ErrMalformed, "images", decrypt("b1.bin", write("two.bin", relabelled))...) // a single request holds one
	reqs, err := wire.ReadRequests(bytes.NewReader(read("b2.bin")))
	if err != nil || len(reqs) != 1 {
		t.Fatalf("%d requests (%v)", len(reqs), err)
	}
	req2 := reqs[0]
	replayed := bytes.Clone(read("r1.bin"))
	copy(replayed[wire.HeaderSize+16:], req2.Bytes())
	r := cn(t, decrypt("b2.bin", write("replayed.bin", replayed))...)
	if r.code != errs.Code(errs.ErrIntegrity) && r.code != 0 { // passes with probability 1/128 (docs/security.md)
		t.Errorf("a relabelled result: exit %d: %s", r.code, r.stderr)
	}
	// Holes 6 and 7: lowering cost, CBOR lengths.
	exits(errs.ErrLimit, "lower", "predict", "--model", hostile("sumpool_96.cnm"), "--eval-keys", f("alice.evk"), "--in", f("b1.bin"), "-o", f("x"), "--insecure")
	exits(errs.ErrLimit, "lower", "convert", hostile("averagepool_96.onnx"), "-o", f("x.cnm"))
	exits(errs.ErrMalformed, "cbor", "inspect", hostile("cbor_nested_arrays.cnm"))
	exits(errs.ErrMalformed, "cbor", "keygen", "--insecure", "--manifest", hostile("cbor_nested_arrays_manifest.bin"), "--secret-key", f("x.sk"), "--eval-keys", f("x.evk"))

	// The files and commands still work.
	ok(t, decrypt("b1.bin", f("r1.bin"))...)
	ok(t, decrypt("b2.bin", f("r2.bin"))...)
}
