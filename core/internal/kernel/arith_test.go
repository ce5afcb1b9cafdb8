package kernel

import (
	"fmt"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// TestArithMatchesExact checks every element-wise operation on every path against
// 128-bit arithmetic, for every preset prime, on lengths with and without a tail.
func TestArithMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	moduli := presetModuli(t)
	for _, m := range moduli {
		q := m.q
		for _, n := range []int{8, 37, 256} {
			x, y, d := randomRows(rng, 1, n, q)[0], randomRows(rng, 1, n, q)[0], randomRows(rng, 1, n, q)[0]
			wide := make([]uint64, n) // below 2^50
			for i := range wide {
				wide[i] = rng.Uint64N(1 << 50)
			}
			s := rng.Uint64N(q)
			for _, p := range supportedPaths(t) {
				a := NewArith(p, m)
				w := a.Constant(rng.Uint64N(q))
				check := func(op string, got []uint64, want func(i int) uint64) {
					t.Helper()
					for i := range got {
						if got[i] != want(i) {
							t.Fatalf("%s %s, q=%d (%d bits), n=%d: coefficient %d is %d, want %d", p, op, q, bits.Len64(q), n, i, got[i], want(i))
						}
					}
				}
				got := make([]uint64, n)
				a.Mul(got, x, y)
				check("Mul", got, func(i int) uint64 { return mulMod(x[i], y[i], q) })
				copy(got, d)
				a.MulAdd(got, x, y)
				check("MulAdd", got, func(i int) uint64 { return (d[i] + mulMod(x[i], y[i], q)) % q })
				a.Add(got, x, y)
				check("Add", got, func(i int) uint64 { return (x[i] + y[i]) % q })
				a.ReduceAdd(got, wide, s)
				check("ReduceAdd", got, func(i int) uint64 { return (wide[i]%q + s) % q })
				a.SubMul(got, x, y, w)
				check("SubMul", got, func(i int) uint64 { return mulMod((x[i]+q-y[i])%q, w.w, q) })
				for _, from := range moduli[:4] {
					src := randomRows(rng, 1, n, from.q)[0]
					src[0], src[1] = from.q>>1, from.q>>1-1
					a.Lift(got, src, from)
					check(fmt.Sprintf("Lift from %d", from.q), got, func(i int) uint64 {
						if src[i] >= from.q>>1 {
							return (q - (from.q-src[i])%q) % q
						}
						return src[i] % q
					})
				}
				copy(got, d)
				a.MulConstAdd(got, x, w)
				check("MulConstAdd", got, func(i int) uint64 { return (d[i] + mulMod(x[i], w.w, q)) % q })
				index := make([]uint64, n)
				for i, j := range rng.Perm(n) {
					index[i] = uint64(j)
				}
				a.Permute(got, x, index, false)
				check("Permute", got, func(i int) uint64 { return x[index[i]] })
				copy(got, d)
				a.Permute(got, x, index, true)
				check("Permute (accumulate)", got, func(i int) uint64 { return (d[i] + x[index[i]]) % q })
				if m.ifma() || p == Generic {
					// 2^-64 mod q, for the Montgomery products.
					r64 := new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), 64), new(big.Int).SetUint64(q)).Uint64()
					for _, count := range []int{0, 1, 3, 11} {
						terms := randomRows(rng, 3*count, n, q)
						for _, accumulate := range []bool{false, true} {
							got1 := make([]uint64, n)
							copy(got, d)
							copy(got1, y)
							a.MontgomeryDot(got, got1, terms, accumulate)
							for o, out := range [][]uint64{got, got1} {
								check(fmt.Sprintf("MontgomeryDot(%d terms, output %d, accumulate %v)", count, o, accumulate), out, func(i int) uint64 {
									var sum uint64
									if accumulate {
										sum = [][]uint64{d, y}[o][i]
									}
									for k := 0; k < len(terms); k += 3 {
										sum = (sum + mulMod(mulMod(terms[k+o][i], terms[k+2][i], q), r64, q)) % q
									}
									return sum
								})
							}
						}
					}
				}
			}
		}
	}
}

// TestRescaleMatchesExact rescales random NTT-domain polynomials of preset chains by
// one to three primes on every path, against CRT reconstruction and exact rounding.
func TestRescaleMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, preset := range []params.Preset{params.N13, params.N14S} {
		prm, err := preset.Parameters()
		if err != nil {
			t.Fatal(err)
		}
		r, err := ring.NewRingFromType(1<<11, prm.Q()[:4], ring.ConjugateInvariant)
		if err != nil {
			t.Fatal(err)
		}
		n, level := r.N(), r.Level()
		in := r.NewPoly()
		for i := range in.Coeffs {
			for j := range in.Coeffs[i] {
				in.Coeffs[i][j] = rng.Uint64N(r.SubRings[i].Modulus)
			}
		}
		for rescales := 1; rescales <= 3; rescales++ {
			want := exactRescale(r, in, rescales)
			for _, p := range supportedPaths(t) {
				s, err := NewRescaler(p, r)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([][]uint64, level+2)
				for i := range buf {
					buf[i] = make([]uint64, n)
				}
				out := make([][]uint64, level+1-rescales)
				for i := range out {
					out[i] = make([]uint64, n)
				}
				s.Rescale(out, in.Coeffs, buf, rescales)
				for i := range out {
					if j := firstDiff(out[i], want[i]); j >= 0 {
						t.Fatalf("%s, %s, %d rescales: limb %d coefficient %d is %d, want %d", p, preset.Name, rescales, i, j, out[i][j], want[i][j])
					}
				}
				if rescales == 1 { // in place
					inPlace := r.NewPoly()
					inPlace.Copy(in)
					s.Rescale(inPlace.Coeffs, inPlace.Coeffs, buf, 1)
					for i := range level {
						if j := firstDiff(inPlace.Coeffs[i], want[i]); j >= 0 {
							t.Fatalf("%s in place: limb %d coefficient %d differs", p, i, j)
						}
					}
				}
			}
		}
	}
}

// TestDivideByLastMatchesExact divides by a prime that is not the last of the chain
// (key switching's special prime), against the exact rescale of the sub-chain.
func TestDivideByLastMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	prm, err := params.N14S.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	primes := append(prm.Q()[:4], prm.P()...)
	full, err := ring.NewRingFromType(1<<11, primes, ring.ConjugateInvariant)
	if err != nil {
		t.Fatal(err)
	}
	pick := []int{0, 2, 4} // q0, q2 and the special prime
	sub, err := ring.NewRingFromType(1<<11, []uint64{primes[0], primes[2], primes[4]}, ring.ConjugateInvariant)
	if err != nil {
		t.Fatal(err)
	}
	in := sub.NewPoly()
	for i := range in.Coeffs {
		for j := range in.Coeffs[i] {
			in.Coeffs[i][j] = rng.Uint64N(sub.SubRings[i].Modulus)
		}
	}
	want := exactRescale(sub, in, 1)
	for _, p := range supportedPaths(t) {
		s, err := NewRescaler(p, full)
		if err != nil {
			t.Fatal(err)
		}
		buf := [][]uint64{make([]uint64, sub.N()), make([]uint64, sub.N())}
		out := [][]uint64{make([]uint64, sub.N()), make([]uint64, sub.N())}
		s.DivideByLast(out, in.Coeffs, pick, buf)
		for i := range out {
			if j := firstDiff(out[i], want[i]); j >= 0 {
				t.Fatalf("%s: row %d coefficient %d is %d, want %d", p, i, j, out[i][j], want[i][j])
			}
		}
	}
}

// exactRescale returns the NTT of round(p / (q_L … q_{L−n+1})) rounded one prime at a
// time, computed on the CRT-reconstructed integers.
func exactRescale(r *ring.Ring, in ring.Poly, n int) [][]uint64 {
	level := r.Level()
	coeffs := r.NewPoly()
	r.INTT(in, coeffs)
	bigs := make([]*big.Int, r.N())
	for j := range bigs {
		bigs[j] = crt(r, coeffs, j, level)
	}
	for l := level; l > level-n; l-- {
		ql := new(big.Int).SetUint64(r.SubRings[l].Modulus)
		half := new(big.Int).Rsh(ql, 1) // (q_l − 1)/2 for odd q_l
		for j, v := range bigs {
			v.Add(v, half)
			v.Div(v, ql) // floor for non-negative v
			bigs[j] = v
		}
	}
	out := make([][]uint64, level+1-n)
	for i := range out {
		s := r.SubRings[i]
		out[i] = make([]uint64, r.N())
		qi := new(big.Int).SetUint64(s.Modulus)
		for j, v := range bigs {
			out[i][j] = new(big.Int).Mod(v, qi).Uint64()
		}
		s.NTT(out[i], out[i])
	}
	return out
}

// crt reconstructs coefficient j of p (limbs 0…level) in [0, Q).
func crt(r *ring.Ring, p ring.Poly, j, level int) *big.Int {
	Q := big.NewInt(1)
	for _, s := range r.SubRings[:level+1] {
		Q.Mul(Q, new(big.Int).SetUint64(s.Modulus))
	}
	sum := new(big.Int)
	for i, s := range r.SubRings[:level+1] {
		qi := new(big.Int).SetUint64(s.Modulus)
		Qi := new(big.Int).Div(Q, qi)
		inv := new(big.Int).ModInverse(new(big.Int).Mod(Qi, qi), qi)
		term := new(big.Int).SetUint64(p.Coeffs[i][j])
		term.Mul(term, inv).Mod(term, qi).Mul(term, Qi)
		sum.Add(sum, term)
	}
	return sum.Mod(sum, Q)
}
