package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/wire"
)

// mutationsPerFile is how many mutations of each file TestMutatedFiles feeds to the
// command that reads it.
const mutationsPerFile = 64

// TestMutatedFiles is the CLI-level check of issue 12: random mutations of a real
// secret key, manifest, evaluation-keys file, upload and result, each fed as a
// separate process to the command that reads it (and to inspect). Whatever the
// bytes, the process exits with a code of the error classes (or 0), never by a
// signal, and prints no "fatal error" or panic trace. The plan is single-image packing
// at insecure parameters on a network small enough for hundreds of processes: its
// upload and evaluation keys are real Lattigo objects, its manifest lists Galois keys.
func TestMutatedFiles(t *testing.T) {
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
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
	ok(t, "keygen", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--eval-keys", f("evk.bin"))
	ok(t, "encrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--images", "1", "-o", f("batch.bin"))
	ok(t, "predict", "--model", f("tiny.cnm"), "--eval-keys", f("evk.bin"), "--in", f("batch.bin"), "-o", f("result.bin"), "--insecure")
	ok(t, "decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--request", f("batch.bin"), "--in", f("result.bin"))

	// Each file, and the command that reads it with the good other files ({} is the
	// mutated file).
	cases := []struct {
		file string
		args []string
	}{
		{"sk.bin", []string{"decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", "{}", "--request", f("batch.bin"), "--in", f("result.bin")}},
		{"manifest.bin", []string{"keygen", "--insecure", "--manifest", "{}", "--secret-key", "{}.sk", "--eval-keys", "{}.evk"}},
		{"evk.bin", []string{"predict", "--model", f("tiny.cnm"), "--eval-keys", "{}", "--in", f("batch.bin"), "-o", "{}.out", "--insecure"}},
		{"batch.bin", []string{"predict", "--model", f("tiny.cnm"), "--eval-keys", f("evk.bin"), "--in", "{}", "-o", "{}.out", "--insecure"}},
		{"result.bin", []string{"decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--request", f("batch.bin"), "--in", "{}"}},
	}
	var mu sync.Mutex
	codes := map[string]map[int]int{}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			good, err := os.ReadFile(f(c.file))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(len(c.file)), 12))
			seen := map[int]int{}
			for i := range mutationsPerFile {
				path := f(fmt.Sprintf("%s.%d", c.file, i))
				if err := os.WriteFile(path, mutate(rng, good), 0o600); err != nil {
					t.Fatal(err)
				}
				args := make([]string, len(c.args))
				for k, a := range c.args {
					args[k] = strings.ReplaceAll(a, "{}", path)
				}
				for _, run := range [][]string{args, {"inspect", path}} {
					r := cn(t, run...)
					survived(t, r)
					if run[0] != "inspect" {
						seen[r.code]++
					}
				}
			}
			mu.Lock()
			codes[c.file] = seen
			mu.Unlock()
		})
	}
	t.Cleanup(func() {
		for file, seen := range codes {
			t.Logf("%s: exit codes %v over %d mutations", file, seen, mutationsPerFile)
		}
	})
}

// survived fails the test if the process died by a signal or printed a Go crash.
func survived(t *testing.T, r result) {
	t.Helper()
	cmd := "cryptonets " + strings.Join(r.args, " ")
	switch {
	case r.code < 0:
		t.Errorf("%s: killed by a signal", cmd)
	case r.code > 10 || r.code == errs.Code(errs.ErrInternal):
		t.Errorf("%s: exit code %d: %s", cmd, r.code, r.stderr)
	case strings.Contains(r.stderr, "fatal error") || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine "):
		t.Errorf("%s: a crash on stderr: %s", cmd, r.stderr)
	}
}

// mutate returns a mutation of a cryptonets file: bytes flipped in the header or the
// payload, a truncation or an extension, or (a hostile party's way) a changed payload
// under an envelope whose length and plan fingerprint are made to match it.
func mutate(rng *rand.Rand, good []byte) []byte {
	b := bytes.Clone(good)
	switch rng.IntN(6) {
	case 0: // the header
		for range 1 + rng.IntN(3) {
			b[rng.IntN(wire.HeaderSize)] ^= byte(1 + rng.IntN(255))
		}
	case 1:
		return b[:rng.IntN(len(b))]
	case 2:
		return append(b, make([]byte, 1+rng.IntN(64))...)
	case 3: // a length field early in the payload
		at := wire.HeaderSize + rng.IntN(min(64, len(b)-wire.HeaderSize))
		b[at] = byte(rng.Uint32())
	default: // bytes of the payload, resealed or not
		for range 1 + rng.IntN(8) {
			b[wire.HeaderSize+rng.IntN(len(b)-wire.HeaderSize)] = byte(rng.Uint32())
		}
		if rng.IntN(2) == 0 {
			sum := sha256.Sum256(b[wire.HeaderSize:])
			copy(b[24:56], sum[:])
			binary.LittleEndian.PutUint64(b[56:], uint64(len(b)-wire.HeaderSize))
		}
	}
	return b
}

// filledWeights are n small deterministic weights.
func filledWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(i%7-3) / 100
	}
	return w
}
