package kernel

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// TestRelinearizeMatchesLattigo relinearizes squared ciphertexts at every level of a
// preset with one special prime on every path: the paths agree bit for bit, and each
// result differs from Lattigo's Relinearize by at most one in every coefficient (the
// two divide by P with different roundings), so it decrypts to the same values.
func TestRelinearizeMatchesLattigo(t *testing.T) {
	for _, preset := range []params.Preset{params.InsecureN11R, params.InsecureN12R} {
		prm, err := preset.Parameters()
		if err != nil {
			t.Fatal(err)
		}
		kgen := rlwe.NewKeyGenerator(prm)
		sk := kgen.GenSecretKeyNew()
		rlk := kgen.GenRelinearizationKeyNew(sk)
		eval := hefloat.NewEvaluator(prm, rlwe.NewMemEvaluationKeySet(rlk))
		enc := rlwe.NewEncryptor(prm, sk)
		ecd := hefloat.NewEncoder(prm)
		rng := rand.New(rand.NewPCG(21, 22))
		for level := prm.MaxLevel(); level >= 0; level-- {
			values := make([]float64, prm.MaxSlots())
			for i := range values {
				values[i] = 2*rng.Float64() - 1
			}
			pt := hefloat.NewPlaintext(prm, level)
			if err := ecd.Encode(values, pt); err != nil {
				t.Fatal(err)
			}
			ct, err := enc.EncryptNew(pt)
			if err != nil {
				t.Fatal(err)
			}
			sq, err := eval.MulNew(ct, ct)
			if err != nil {
				t.Fatal(err)
			}
			want, err := eval.RelinearizeNew(sq)
			if err != nil {
				t.Fatal(err)
			}
			var first [2][][]uint64
			for _, path := range supportedPaths(t) {
				k, err := NewKeySwitch(path, prm.N(), prm.Q(), prm.P()[0], prm.RingType())
				if err != nil {
					t.Fatal(err)
				}
				c := sq.CopyNew()
				scratch := make([][]uint64, RelinearizationRows(level))
				for i := range scratch {
					scratch[i] = make([]uint64, prm.N())
				}
				if err := k.Relinearize(c.Value[0].Coeffs, c.Value[1].Coeffs, c.Value[2].Coeffs, level, rlk, scratch); err != nil {
					t.Fatal(err)
				}
				for h := range 2 {
					got := c.Value[h].Coeffs
					if first[h] == nil {
						first[h] = got
						checkWithinOne(t, prm.RingQ().AtLevel(level), got, want.Value[h].Coeffs)
						continue
					}
					for l := range got {
						if !slices.Equal(got[l], first[h][l]) {
							t.Fatalf("%s, level %d: polynomial %d, limb %d differs from the pure-Go path", path, level, h, l)
						}
					}
				}
			}
		}
	}
}

// checkWithinOne fails unless got − want (NTT domain, limbs of r) is a polynomial
// whose coefficients are all −1, 0 or 1.
func checkWithinOne(t *testing.T, r *ring.Ring, got, want [][]uint64) {
	t.Helper()
	diff := r.NewPoly()
	r.Sub(ring.Poly{Coeffs: got}, ring.Poly{Coeffs: want}, diff)
	r.INTT(diff, diff)
	for l, s := range r.SubRings[:r.Level()+1] {
		for j, v := range diff.Coeffs[l] {
			if v > 1 && v != s.Modulus-1 {
				t.Fatalf("limb %d, coefficient %d: the relinearizations differ by %d", l, j, v)
			}
		}
	}
}

// TestRelinearizeRejectsOtherKeys checks that a key of the wrong shape is an error,
// not a panic or a wrong result.
func TestRelinearizeRejectsOtherKeys(t *testing.T) {
	prm, err := params.InsecureN11R.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKeySwitch(Generic, prm.N(), prm.Q(), prm.P()[0], prm.RingType())
	if err != nil {
		t.Fatal(err)
	}
	level := prm.MaxLevel()
	rows := func(n int) [][]uint64 {
		out := make([][]uint64, n)
		for i := range out {
			out[i] = make([]uint64, prm.N())
		}
		return out
	}
	kgen := rlwe.NewKeyGenerator(prm)
	sk := kgen.GenSecretKeyNew()
	low := kgen.GenRelinearizationKeyNew(sk, rlwe.EvaluationKeyParameters{LevelQ: new(int)})
	two := 1
	bits := kgen.GenRelinearizationKeyNew(sk, rlwe.EvaluationKeyParameters{BaseTwoDecomposition: &two})
	for name, rlk := range map[string]*rlwe.RelinearizationKey{"nil": nil, "level 0": low, "base-two": bits} {
		if err := k.Relinearize(rows(level+1), rows(level+1), rows(level+1), level, rlk, rows(RelinearizationRows(level))); err == nil {
			t.Errorf("%s key accepted", name)
		}
	}
}

// BenchmarkRelinearize measures one relinearization at the top level of N14QP438R
// (N = 2^14, 11 primes and one special prime: the batch plans' set that
// relinearizes) on every path, beside Lattigo's Relinearize:
//
//	go test -run XXX -bench Relinearize ./core/internal/kernel
func BenchmarkRelinearize(b *testing.B) {
	prm, err := params.N14R.Parameters()
	if err != nil {
		b.Fatal(err)
	}
	kgen := rlwe.NewKeyGenerator(prm)
	sk := kgen.GenSecretKeyNew()
	rlk := kgen.GenRelinearizationKeyNew(sk)
	ct := rlwe.NewEncryptor(prm, sk).EncryptZeroNew(prm.MaxLevel())
	eval := hefloat.NewEvaluator(prm, rlwe.NewMemEvaluationKeySet(rlk))
	sq, err := eval.MulNew(ct, ct)
	if err != nil {
		b.Fatal(err)
	}
	level := prm.MaxLevel()
	b.Run("lattigo", func(b *testing.B) {
		out := hefloat.NewCiphertext(prm, 1, level)
		for b.Loop() {
			if err := eval.Relinearize(sq, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, path := range Paths {
		b.Run(path.String(), func(b *testing.B) {
			if !Supported(path) {
				b.Skipf("%s not supported here", path)
			}
			k, err := NewKeySwitch(path, prm.N(), prm.Q(), prm.P()[0], prm.RingType())
			if err != nil {
				b.Fatal(err)
			}
			scratch := make([][]uint64, RelinearizationRows(level))
			for i := range scratch {
				scratch[i] = make([]uint64, prm.N())
			}
			c := sq.CopyNew()
			for b.Loop() {
				if err := k.Relinearize(c.Value[0].Coeffs, c.Value[1].Coeffs, c.Value[2].Coeffs, level, rlk, scratch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
