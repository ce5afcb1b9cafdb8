package seeded

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"testing"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// TestExpandC1FollowsTheFormat recomputes the first coefficients of c1 from the
// documented construction (AES-256-CTR under SHA-256("cryptonets-c1-aes" ‖ seed),
// counter block k·2^64, little-endian words w mapped to ⌊w·q/2^64⌋ with Lemire's
// rejection), and
// checks that every coefficient is reduced, that ciphertexts get different streams
// and that the values look uniform, on every kernel path; every path draws the same
// c1.
func TestExpandC1FollowsTheFormat(t *testing.T) {
	var first ring.Poly
	for _, path := range kernel.Paths {
		if !kernel.Supported(path) {
			continue
		}
		t.Setenv(kernel.EnvVar, path.String())
		c1 := expandFollowsTheFormat(t)
		if first.Coeffs == nil {
			first = c1
		} else if !first.Equal(&c1) {
			t.Fatalf("the %s path draws another c1", path)
		}
	}
}

func expandFollowsTheFormat(t *testing.T) ring.Poly {
	prm, err := params.N13.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, SeedSize)
	for i := range seed {
		seed[i] = byte(3 * i)
	}
	level := prm.MaxLevel()
	c1 := prm.RingQ().NewPoly()
	if err := ExpandC1(prm.Q(), seed, 5, level, c1); err != nil {
		t.Fatal(err)
	}
	// The documented construction, word by word, for the first limb.
	key := sha256.Sum256(append([]byte("cryptonets-c1-aes"), seed...))
	block, _ := aes.NewCipher(key[:])
	iv := make([]byte, 16)
	binary.BigEndian.PutUint64(iv, 5)
	stream := cipher.NewCTR(block, iv)
	q := prm.Q()[0]
	word := make([]byte, 8)
	for j := 0; j < 64; {
		clear(word)
		stream.XORKeyStream(word, word)
		hi, lo := bits.Mul64(binary.LittleEndian.Uint64(word), q)
		if lo >= (-q)%q { // 2^64 mod q
			if c1.Coeffs[0][j] != hi {
				t.Fatalf("coefficient %d is %d, the format gives %d", j, c1.Coeffs[0][j], hi)
			}
			j++
		}
	}
	other := prm.RingQ().NewPoly()
	if err := ExpandC1(prm.Q(), seed, 6, level, other); err != nil {
		t.Fatal(err)
	}
	same := 0
	for i, qi := range prm.Q() {
		mean := 0.0
		for j, v := range c1.Coeffs[i] {
			if v >= qi {
				t.Fatalf("limb %d coefficient %d = %d is not below %d", i, j, v, qi)
			}
			if v == other.Coeffs[i][j] {
				same++
			}
			mean += float64(v) / float64(qi)
		}
		mean /= float64(len(c1.Coeffs[i]))
		if mean < 0.48 || mean > 0.52 { // 8192 uniform draws: σ ≈ 0.003
			t.Fatalf("limb %d: mean of c1/q is %.4f, not uniform", i, mean)
		}
	}
	if same > 2 {
		t.Fatalf("ciphertexts 5 and 6 share %d coefficients of c1", same)
	}
	again := ring.Poly{Coeffs: [][]uint64{make([]uint64, prm.N())}}
	if err := ExpandC1(prm.Q(), seed, 5, 0, again); err != nil || !equalRows(again.Coeffs[0], c1.Coeffs[0]) {
		t.Fatalf("expansion is not deterministic: %v", err)
	}
	if err := ExpandC1(prm.Q(), seed[:16], 5, level, c1); err == nil {
		t.Fatal("a short seed was accepted")
	}
	if err := ExpandC1(prm.Q(), seed, 5, level+1, c1); err == nil {
		t.Fatal("a level above the moduli was accepted")
	}
	return c1
}

func equalRows(a, b []uint64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
