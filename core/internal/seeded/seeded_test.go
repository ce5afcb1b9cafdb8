package seeded

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

func setup(t *testing.T, preset params.Preset) (hefloat.Parameters, *rlwe.SecretKey, *Encryptor) {
	t.Helper()
	prm, err := preset.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	s, err := NewSecret(prm, sk)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.NewEncryptor()
	if err != nil {
		t.Fatal(err)
	}
	return prm, sk, e
}

// TestEncryptDecryptsWithLattigo encrypts on every kernel path and decrypts with
// Lattigo's decryptor and decoder, at 128-bit parameters and an insecure test set.
func TestEncryptDecryptsWithLattigo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, preset := range []params.Preset{params.N13, params.InsecureN12S} {
		for _, path := range kernel.Paths {
			if !kernel.Supported(path) {
				continue
			}
			t.Setenv(kernel.EnvVar, path.String())
			prm, sk, e := setup(t, preset)
			values := make([]float64, prm.MaxSlots()-3)
			for i := range values {
				values[i] = rng.Float64()*2 - 1
			}
			const logScale = 30
			for _, level := range []int{prm.MaxLevel(), 1} {
				ct, err := e.Encrypt(values, logScale, level, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float64, prm.MaxSlots())
				if err := hefloat.NewEncoder(prm).Decode(rlwe.NewDecryptor(prm, sk).DecryptNew(ct), got); err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for i, v := range got {
					want := 0.0
					if i < len(values) {
						want = values[i]
					}
					worst = math.Max(worst, math.Abs(v-want))
				}
				// Fresh noise is about σ·√N/2^30 ≈ 3e-7 in the slots.
				if worst > 1e-5 {
					t.Fatalf("%s, %s, level %d: largest slot error %.3g", path, preset.Name, level, worst)
				}
			}
		}
	}
}

// TestErrorIsTheDiscreteGaussian decrypts without decoding and subtracts the encoded
// message: what remains is the encryption error, which must be small, centred, of
// standard deviation near σ = 3.2, and fresh for every encryption even under one seed.
func TestErrorIsTheDiscreteGaussian(t *testing.T) {
	prm, sk, e := setup(t, params.N13)
	values := make([]float64, prm.MaxSlots())
	for i := range values {
		values[i] = math.Sin(float64(i))
	}
	seed := make([]byte, SeedSize)
	const logScale = 30
	var errs [2][]int64
	var c1s [2][]uint64
	for run := range errs {
		ct, err := e.Encrypt(values, logScale, 0, seed, 7)
		if err != nil {
			t.Fatal(err)
		}
		c1s[run] = slices.Clone(ct.Value[1].Coeffs[0])
		pt := rlwe.NewDecryptor(prm, sk).DecryptNew(ct)
		r := prm.RingQ().AtLevel(0)
		r.INTT(pt.Value, pt.Value)
		// The message alone, encoded the same way.
		m := prm.RingQ().AtLevel(0).NewPoly()
		if err := e.encode(values, logScale, 0, m, make([]uint64, prm.N())); err != nil {
			t.Fatal(err)
		}
		q := prm.Q()[0]
		errs[run] = make([]int64, prm.N())
		sum, sq := 0.0, 0.0
		for j, v := range pt.Value.Coeffs[0] {
			d := int64((v + q - m.Coeffs[0][j]) % q)
			if d > int64(q/2) {
				d -= int64(q)
			}
			if d > 19 || d < -19 {
				t.Fatalf("error coefficient %d is %d, beyond the bound 19", j, d)
			}
			errs[run][j] = d
			sum += float64(d)
			sq += float64(d * d)
		}
		n := float64(prm.N())
		mean, sd := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
		if math.Abs(mean) > 0.2 || sd < 2.9 || sd > 3.5 {
			t.Fatalf("error mean %.3f and deviation %.3f, want 0 and 3.2", mean, sd)
		}
	}
	if !slices.Equal(c1s[0], c1s[1]) {
		t.Fatal("the same seed and index gave different c1")
	}
	if slices.Equal(errs[0], errs[1]) {
		t.Fatal("two encryptions drew the same error")
	}
	want := prm.RingQ().NewPoly()
	if err := ExpandC1(prm.Q(), seed, 7, 0, want); err != nil || !slices.Equal(want.Coeffs[0], c1s[0]) {
		t.Fatalf("c1 is not ExpandC1 of the seed: %v", err)
	}
}

// TestEncryptIsTheConstruction recomputes ciphertexts with Lattigo's own parts, on
// every kernel path, from the same secret randomness: the error from Lattigo's
// Gaussian sampler added to round(IFFT(values)·scale) modulo every prime, Lattigo's
// NTT, then c0 = m + e − c1·s. Every coefficient must agree, at every level.
func TestEncryptIsTheConstruction(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	key := make([]byte, 32)
	for _, preset := range []params.Preset{params.N13, params.InsecureN12S} {
		prm, err := preset.Parameters()
		if err != nil {
			t.Fatal(err)
		}
		sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
		values := make([]float64, prm.MaxSlots()-5)
		for i := range values {
			values[i] = (rng.Float64()*2 - 1) * 40 // coefficients beyond some primes at 2^40
		}
		seed := make([]byte, SeedSize)
		for i := range seed {
			seed[i] = byte(i)
		}
		for _, path := range kernel.Paths {
			if !kernel.Supported(path) {
				continue
			}
			t.Setenv(kernel.EnvVar, path.String())
			s, err := NewSecret(prm, sk)
			if err != nil {
				t.Fatal(err)
			}
			ct := rlwe.NewCiphertext(prm, 1, prm.MaxLevel())
			for _, logScale := range []int{30, 40} {
				for _, level := range []int{prm.MaxLevel(), 1} {
					// The encryptor and the reference draw from the same stream.
					key[0], key[1] = byte(logScale), byte(level)
					refPRNG, _ := newAESPRNGWithKey(key)
					want := reference(t, prm, sk, refPRNG, values, logScale, level, seed, 3)
					prng, _ := newAESPRNGWithKey(key)
					e, err := s.newEncryptor(prng)
					if err != nil {
						t.Fatal(err)
					}
					ct.Resize(1, level)
					if err := e.EncryptTo(ct, values, logScale, seed, 3); err != nil {
						t.Fatal(err)
					}
					for l := range level + 1 {
						if !slices.Equal(ct.Value[0].Coeffs[l], want.Coeffs[l]) {
							t.Fatalf("%s, %s, 2^%d, level %d: c0 differs from the construction at limb %d", path, preset.Name, logScale, level, l)
						}
					}
				}
			}
		}
	}
}

// reference computes c0 of a seeded encryption with Lattigo's parts.
func reference(t *testing.T, prm hefloat.Parameters, sk *rlwe.SecretKey, prng *aesPRNG, values []float64, logScale, level int, seed []byte, k int) ring.Poly {
	t.Helper()
	r := prm.RingQ().AtLevel(level)
	slots := make([]complex128, prm.MaxSlots())
	for i, v := range values {
		slots[i] = complex(v, 0)
	}
	if err := hefloat.NewEncoder(prm).IFFT(slots, prm.LogMaxSlots()); err != nil {
		t.Fatal(err)
	}
	m := r.NewPoly()
	for j, z := range slots {
		x := new(big.Int)
		big.NewFloat(math.Round(real(z) * math.Ldexp(1, logScale))).Int(x)
		for l, q := range prm.Q()[:level+1] {
			m.Coeffs[l][j] = new(big.Int).Mod(x, new(big.Int).SetUint64(q)).Uint64()
		}
	}
	gauss, err := ring.NewSampler(prng, r, prm.Xe(), false)
	if err != nil {
		t.Fatal(err)
	}
	gauss.ReadAndAdd(m)
	r.NTT(m, m)
	c1 := r.NewPoly()
	if err := ExpandC1(prm.Q(), seed, k, level, c1); err != nil {
		t.Fatal(err)
	}
	r.MulCoeffsMontgomeryThenSub(c1, sk.Value.Q, m) // s is kept in Montgomery form
	return m
}

func TestEncryptRejectsBadInput(t *testing.T) {
	prm, _, e := setup(t, params.InsecureN12S)
	if _, err := e.Encrypt(make([]float64, prm.MaxSlots()+1), 30, 0, nil, 0); err == nil {
		t.Fatal("too many values accepted")
	}
	if _, err := e.Encrypt([]float64{1}, 30, prm.MaxLevel()+1, nil, 0); err == nil {
		t.Fatal("a level above the top accepted")
	}
	if _, err := e.Encrypt([]float64{math.Inf(1)}, 30, 0, nil, 0); err == nil {
		t.Fatal("an infinite value accepted")
	}
	if _, err := e.Encrypt([]float64{1}, 30, 0, []byte{1, 2}, 0); err == nil {
		t.Fatal("a short seed accepted")
	}
	if _, err := NewSecret(prm, nil); err == nil {
		t.Fatal("a nil key accepted")
	}
}
