package kernel

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cryptonets/cryptonets/core/params"
)

// presetModuli returns every distinct prime of every preset (Q and P), in order.
func presetModuli(t testing.TB) []Modulus {
	var out []Modulus
	seen := map[uint64]bool{}
	for _, p := range params.All() {
		prm, err := p.Parameters()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range append(prm.Q(), prm.P()...) {
			if seen[q] {
				continue
			}
			seen[q] = true
			m, err := NewModulus(q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

// supportedPaths returns the paths this machine runs, logging the others.
func supportedPaths(t testing.TB) []Path {
	var out []Path
	for _, p := range Paths {
		if Supported(p) {
			out = append(out, p)
		} else {
			t.Logf("%s path not supported here: not tested", p)
		}
	}
	return out
}

func TestParseAndEnv(t *testing.T) {
	for _, p := range Paths {
		got, err := ParsePath(p.String())
		if err != nil || got != p {
			t.Fatalf("ParsePath(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := ParsePath("sse9"); err == nil {
		t.Fatal("unknown path accepted")
	}
	t.Setenv(EnvVar, "")
	if p, err := FromEnv(); err != nil || p != Best() {
		t.Fatalf("unset: %v, %v; want %v", p, err, Best())
	}
	t.Setenv(EnvVar, "generic")
	if p, err := FromEnv(); err != nil || p != Generic {
		t.Fatalf("generic: %v, %v", p, err)
	}
	t.Setenv(EnvVar, "neon")
	if _, err := FromEnv(); err == nil {
		t.Fatal("unknown path accepted from the environment")
	}
	for _, p := range Paths {
		if !Supported(p) {
			t.Setenv(EnvVar, p.String())
			if _, err := FromEnv(); err == nil {
				t.Fatalf("unsupported %s accepted from the environment", p)
			}
		}
	}
}

// exactLinear is an oracle independent of every kernel: each term reduced with
// 128-bit products and divisions.
func exactLinear(rows []Row, src [][]uint64, bias []uint64, q uint64, c int) []uint64 {
	out := make([]uint64, len(rows))
	for j, r := range rows {
		acc := bias[j] % q
		for t, i := range r.Index {
			w := r.Weights[t]
			wq := uint64(w) % q
			if w < 0 {
				wq = (q - uint64(-w)%q) % q
			}
			hi, lo := bits.Mul64(wq, src[i][c])
			acc = (acc + bits.Rem64(hi, lo, q)) % q
		}
		out[j] = acc
	}
	return out
}

// randomMap makes `outputs` rows over `inputs` inputs in groups of `shared` rows that
// read the same `terms` inputs, with weights of up to `wbits` bits.
func randomMap(rng *rand.Rand, inputs, outputs, shared, terms, wbits int) []Row {
	rows := make([]Row, outputs)
	for j := 0; j < outputs; j += shared {
		index := make([]int32, terms)
		for t, i := range rng.Perm(inputs)[:terms] {
			index[t] = int32(i)
		}
		for k := j; k < min(j+shared, outputs); k++ {
			w := make([]int64, terms)
			for t := range w {
				w[t] = rng.Int64N(1<<wbits) - 1<<(wbits-1)
				if t%7 == 3 { // extremes
					w[t] = 1<<(wbits-1) - 1
					if t%2 == 0 {
						w[t] = -w[t]
					}
				}
			}
			rows[k] = Row{Index: index, Weights: w}
		}
	}
	return rows
}

func randomRows(rng *rand.Rand, count, n int, q uint64) [][]uint64 {
	out := make([][]uint64, count)
	for i := range out {
		out[i] = make([]uint64, n)
		for c := range out[i] {
			out[i][c] = rng.Uint64N(q)
			if c%5 == 0 {
				out[i][c] = q - 1
			}
		}
	}
	return out
}

// weightBits is the largest weight precision the batch planner gives a modulus:
// |w|·q < 2^62.
func weightBits(q uint64) int { return 62 - bits.Len64(q) }

// TestLinearMatchesReference runs every path on random maps (every block width, term
// counts that need one and several chunks, lengths with and without a tail) modulo
// every preset prime, against the pure-Go path and an exact oracle.
func TestLinearMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	moduli := presetModuli(t)
	paths := supportedPaths(t)
	shapes := []struct{ inputs, outputs, shared, terms, n int }{
		{4, 1, 1, 1, 16},
		{30, 10, 2, 25, 35},
		{30, 15, 5, 25, 64},
		{60, 14, 7, 60, 48},
		{845, 13, 13, 845, 32},
		{1500, 9, 9, 1300, 16},
	}
	for _, sh := range shapes {
		for _, wb := range []int{4, 0} { // small weights, and the planner's largest
			rows := randomMap(rng, sh.inputs, sh.outputs, sh.shared, sh.terms, max(wb, 2))
			for mi, m := range moduli {
				other := moduli[(mi+1)%len(moduli)]
				bitsW := wb
				if bitsW == 0 {
					bitsW = weightBits(max(m.q, other.q))
				}
				rows := rows
				if wb == 0 {
					rows = randomMap(rng, sh.inputs, sh.outputs, sh.shared, sh.terms, bitsW)
				}
				src := randomRows(rng, sh.inputs, sh.n, m.q)
				bias := make([]uint64, sh.outputs)
				for j := range bias {
					bias[j] = rng.Uint64N(m.q)
				}
				var want [][]uint64
				for _, p := range paths {
					l, err := NewLinear(p, sh.inputs, rows, []Modulus{other, m})
					if err != nil {
						t.Fatal(err)
					}
					dst := randomRows(rng, sh.outputs, sh.n, m.q) // garbage to overwrite
					l.Apply(dst, src, 1, bias)
					if p == Generic {
						want = dst
						for _, c := range []int{0, sh.n / 2, sh.n - 1} {
							exact := exactLinear(rows, src, bias, m.q, c)
							for j := range exact {
								if dst[j][c] != exact[j] {
									t.Fatalf("generic, q=%d (%d bits), shape %+v: output %d coefficient %d is %d, want %d",
										m.q, bits.Len64(m.q), sh, j, c, dst[j][c], exact[j])
								}
							}
						}
						continue
					}
					for j := range dst {
						if !slices.Equal(dst[j], want[j]) {
							c := 0
							for dst[j][c] == want[j][c] {
								c++
							}
							t.Fatalf("%s, q=%d (%d bits), %d-bit weights, shape %+v: output %d coefficient %d is %d, generic gives %d",
								p, m.q, bits.Len64(m.q), bitsW, sh, j, c, dst[j][c], want[j][c])
						}
					}
				}
			}
		}
	}
}

func TestLinearWithoutBiasAndEmptyRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := presetModuli(t)[0]
	rows := []Row{{}, {Index: []int32{2}, Weights: []int64{-3}}}
	src := randomRows(rng, 3, 24, m.q)
	for _, p := range supportedPaths(t) {
		l, err := NewLinear(p, 3, rows, []Modulus{m})
		if err != nil {
			t.Fatal(err)
		}
		dst := randomRows(rng, 2, 24, m.q)
		l.Apply(dst, src, 0, nil)
		for c := range 24 {
			if dst[0][c] != 0 || dst[1][c] != (m.q-3*src[2][c]%m.q)%m.q {
				t.Fatalf("%s: coefficient %d: %d, %d", p, c, dst[0][c], dst[1][c])
			}
		}
	}
}

func TestNewLinearRejectsBadMaps(t *testing.T) {
	m, _ := NewModulus(0x1fffffffffe00001) // 61 bits
	cases := map[string][]Row{
		"index out of range":  {{Index: []int32{3}, Weights: []int64{1}}},
		"negative index":      {{Index: []int32{-1}, Weights: []int64{1}}},
		"length mismatch":     {{Index: []int32{0, 1}, Weights: []int64{1}}},
		"weight beyond int64": {{Index: []int32{0}, Weights: []int64{1 << 40}}},
	}
	for name, rows := range cases {
		if _, err := NewLinear(Generic, 3, rows, []Modulus{m}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, q := range []uint64{0, 1, 4, 1 << 62} {
		if _, err := NewModulus(q); err == nil {
			t.Errorf("modulus %d accepted", q)
		}
	}
}

func TestLazyReductionIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, q := range []uint64{35184372121601, 8796092858369, 4398046150657, 2013265921} {
		m, err := NewModulus(q)
		if err != nil {
			t.Fatal(err)
		}
		acc := make([]int64, 4096)
		for i := range acc {
			acc[i] = int64(rng.Uint64()) // any int64, extremes included
		}
		acc[0], acc[1], acc[2] = math.MaxInt64, math.MinInt64+1, 0
		for _, v := range acc {
			r := v % int64(q)
			if r < 0 {
				r += int64(q)
			}
			want := (uint64(r) + 12345) % q
			lazy := m.reduceLazy(v)
			if lazy <= -2*int64(q) || lazy >= 2*int64(q) || (lazy-v)%int64(q) != 0 {
				t.Fatalf("q=%d: reduceLazy(%d) = %d", q, v, lazy)
			}
			if got := m.reduce(lazy + 12345); got != want {
				t.Fatalf("q=%d: reduce(%d + 12345) = %d, want %d", q, v, got, want)
			}
		}
	}
}

// convolution makes the rows of a 5×5 convolution with stride 2 over a 28×28 image,
// one row per channel and position, every position with the channel's weights.
func convolution(rng *rand.Rand, channels, wbits int) []Row {
	kernels := randomMap(rng, 25, channels, 1, 25, wbits)
	var rows []Row
	for y := 0; y+5 <= 28; y += 2 {
		for x := 0; x+5 <= 28; x += 2 {
			index := make([]int32, 0, 25)
			for dy := range 5 {
				for dx := range 5 {
					index = append(index, int32((y+dy)*28+x+dx))
				}
			}
			for _, k := range kernels {
				rows = append(rows, Row{Index: index, Weights: k.Weights})
			}
		}
	}
	return rows
}

// TestLinearTablesNoLargerThanGeneric checks, on the shapes of the shipped network's
// big layers modulo the primes of N13QP215, that a map holds no more on a vector
// path than on the pure-Go one — on the 52-bit kernels blocks that read the same
// inputs share one table of shifted weights for every modulus, and blocks with the
// same weights (a convolution's) share their tables — and that every path gives the
// same bits on every limb, with and without a tail.
func TestLinearTablesNoLargerThanGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	prm, err := params.N13.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	var moduli []Modulus
	for _, q := range prm.Q() {
		m, err := NewModulus(q)
		if err != nil {
			t.Fatal(err)
		}
		moduli = append(moduli, m)
	}
	wbits := weightBits(moduli[0].q)
	layers := []struct {
		name   string
		inputs int
		rows   []Row
	}{
		{"dense", 845, randomMap(rng, 845, 100, 100, 845, wbits)},
		{"convolution", 784, convolution(rng, 5, wbits)},
	}
	for _, layer := range layers {
		maps := map[Path]*Linear{}
		for _, p := range supportedPaths(t) {
			if maps[p], err = NewLinear(p, layer.inputs, layer.rows, moduli); err != nil {
				t.Fatal(err)
			}
			if got, generic := maps[p].Bytes(), maps[Generic].Bytes(); got > generic {
				t.Errorf("%s: the %s path holds %d bytes, the pure-Go path %d", layer.name, p, got, generic)
			}
		}
		outputs := len(layer.rows)
		for _, n := range []int{48, 40} {
			for limb, m := range moduli {
				src := randomRows(rng, layer.inputs, n, m.q)
				bias := make([]uint64, outputs)
				for j := range bias {
					bias[j] = rng.Uint64N(m.q)
				}
				want := randomRows(rng, outputs, n, m.q)
				maps[Generic].Apply(want, src, limb, bias)
				for p, l := range maps {
					dst := randomRows(rng, outputs, n, m.q)
					l.Apply(dst, src, limb, bias)
					for j := range dst {
						if !slices.Equal(dst[j], want[j]) {
							t.Fatalf("%s, %s, limb %d, %d coefficients: output %d differs from the pure-Go path's", layer.name, p, limb, n, j)
						}
					}
				}
			}
		}
	}
}

// TestLinearSharesOnlyEqualBlocks checks that blocks share tables only with blocks of
// the same shape: here two rows over two inputs and one row over four have the same
// weights once laid out term by term.
func TestLinearSharesOnlyEqualBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	m := presetModuli(t)[0]
	rows := []Row{
		{Index: []int32{0, 1}, Weights: []int64{1, 3}},
		{Index: []int32{0, 1}, Weights: []int64{2, 4}},
		{Index: []int32{0, 1, 2, 3}, Weights: []int64{1, 2, 3, 4}},
	}
	src := randomRows(rng, 4, 32, m.q)
	for _, p := range supportedPaths(t) {
		l, err := NewLinear(p, 4, rows, []Modulus{m})
		if err != nil {
			t.Fatal(err)
		}
		dst := randomRows(rng, len(rows), 32, m.q)
		l.Apply(dst, src, 0, nil)
		for c := range 32 {
			want := exactLinear(rows, src, make([]uint64, len(rows)), m.q, c)
			for j := range rows {
				if dst[j][c] != want[j] {
					t.Fatalf("%s: output %d coefficient %d is %d, want %d", p, j, c, dst[j][c], want[j])
				}
			}
		}
	}
}
