package single

import (
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Affine layers after the first are diagonal linear transformations followed by
// folds. Positions below count one image's values; with k images interleaved,
// position x is slots x·k … x·k+k−1 and every rotation moves k times as far.
//
// A layer's input is laid out in one of two ways (vectorLayout):
//   - periodic: value v at positions v + period·t for every t, so the slots hold
//     copies = positions/period copies of the vector;
//   - grouped: value g·group + u at position g·period + u, for u < group and
//     g < groups; the other positions hold values no later step reads.
//
// Three methods, each chosen by compileAffine:
//   - periodic → periodic (the extended-diagonal method): m diagonals of an m×n
//     matrix, then a fold of n/m terms; every copy computes the same outputs.
//   - periodic → grouped (split): the copies compute different rows. Copy c handles
//     rows c·g … c·g+g−1 with g = m/copies diagonals: position c·n + x multiplies
//     row c·g + x mod g by columns x … x+g−1, and folds of stride g sum the n/g
//     positions of each row. With 8 copies this needs 8 times fewer diagonals
//     (and plaintext products) than the extended-diagonal method.
//   - grouped → periodic (gather): output o at position o of each copy reads the
//     group values of its copy through diagonals −(outputs−1) … group−1, and a fold
//     of stride period sums the copies.
//
// A network alternates split and gather; the last layer always ends periodic, with
// its outputs at positions 0 … outputs−1 where the client reads them.

// vectorLayout tells where the values of a vector sit (see above); groups == 0
// means periodic.
type vectorLayout struct {
	period        int
	group, groups int
}

// foldSpec sums the rotations of a ciphertext by stride·j slots, j = 0 … n−1.
type foldSpec struct{ stride, n int }

// maxFold is the most terms one fold sums: each term is a Galois key, each fold a
// decomposition, so longer sums are split into folds of up to maxFold terms.
const maxFold = 8

// minSplitRows is the fewest rows per copy for which split beats the
// extended-diagonal method (fewer rows leave too little to share).
const minSplitRows = 4

// compileAffine builds the linear transformation, folds and bias of an affine layer
// whose input is laid out as in, and returns the layout of its outputs. The last
// layer of the network must end periodic.
func compileAffine(prm hefloat.Parameters, ecd *hefloat.Encoder, a *model.Affine, in vectorLayout, level int, ptScale rlwe.Scale, k int, last bool) (step, vectorLayout, error) {
	positions := prm.MaxSlots() / k
	if a.In > in.period && in.groups == 0 || in.groups > 0 && a.In > in.group*in.groups {
		return step{}, vectorLayout{}, errs.New(errs.ErrUnsupported, "%d inputs do not fit the layout of the layer's input", a.In)
	}
	m := nextPow2(a.Out())
	l := affineLayer{prm: prm, a: a, k: k, dense: denseRows(a, max(in.period, m))}
	var out vectorLayout
	switch copies := positions / in.period; {
	case in.groups > 0:
		if a.Out() > in.period {
			return step{}, vectorLayout{}, errs.New(errs.ErrUnsupported, "%d outputs do not fit in a period of %d", a.Out(), in.period)
		}
		out = l.gather(in, positions)
	case !last && copies >= 2 && m/copies >= minSplitRows:
		out = l.split(in.period, copies, m)
	default:
		var err error
		if out, err = l.extended(in.period, m, positions); err != nil {
			return step{}, vectorLayout{}, err
		}
	}
	if len(l.diags) == 0 {
		l.diags[0] = make([]float64, l.width)
	}
	tr, err := newTransform(prm, ecd, l.diags, l.width, level, ptScale, 0)
	if err != nil {
		return step{}, vectorLayout{}, err
	}
	return step{tr: tr, folds: l.folds, bias: l.bias}, out, nil
}

// affineLayer collects the diagonals, folds and bias of one layer while a method
// builds them.
type affineLayer struct {
	prm   hefloat.Parameters
	a     *model.Affine
	k     int
	dense [][]float64 // dense[row][column], columns padded with zeros
	// diags are indexed by rotation in slots; each is width slots long and repeats
	// over the rest of the slots.
	diags hefloat.Diagonals[float64]
	width int
	folds []foldSpec
	bias  []float64
}

// set puts w at position x of diagonal j (j in positions, possibly negative) for
// all k interleaved images.
func (l *affineLayer) set(j, x int, w float64) {
	if w == 0 {
		return
	}
	idx := ((j*l.k)%l.width + l.width) % l.width
	d, ok := l.diags[idx]
	if !ok {
		d = make([]float64, l.width)
		l.diags[idx] = d
	}
	for i := range l.k {
		d[x*l.k+i] = w
	}
}

// sumEvery adds folds that sum n terms at stride positions.
func (l *affineLayer) sumEvery(stride, n int) {
	l.folds = foldsOf(stride*l.k, n)
}

// foldsOf returns the folds that sum n terms (a power of two) at stride slots, at most
// maxFold per fold.
func foldsOf(stride, n int) []foldSpec {
	var folds []foldSpec
	for n > 1 {
		t := min(n, maxFold)
		folds = append(folds, foldSpec{stride: stride, n: t})
		stride *= t
		n /= t
	}
	return folds
}

// extended is the extended-diagonal method: periodic → periodic with period m.
func (l *affineLayer) extended(period, m, positions int) (vectorLayout, error) {
	n := max(period, m)
	if n > positions {
		return vectorLayout{}, errs.New(errs.ErrUnsupported, "%d values of %d images do not fit in %d slots", n, l.k, l.prm.MaxSlots())
	}
	// d_j[x] = W[x mod m][(x+j) mod n]: output r is the sum of positions r, r+m, …
	l.width, l.diags = n*l.k, hefloat.Diagonals[float64]{}
	for j := 0; j < m; j++ {
		for x := 0; x < n; x++ {
			if r := x % m; r < l.a.Out() {
				l.set(j, x, l.dense[r][(x+j)%n])
			}
		}
	}
	l.sumEvery(m, n/m)
	l.bias = periodic(interleaved(l.a.Bias, l.k), m*l.k, l.prm.MaxSlots())
	return vectorLayout{period: m}, nil
}

// split is periodic (period n, copies copies) → grouped: copy c computes rows
// c·g … c·g+g−1.
func (l *affineLayer) split(n, copies, m int) vectorLayout {
	g := m / copies
	l.width, l.diags = l.prm.MaxSlots(), hefloat.Diagonals[float64]{}
	l.bias = make([]float64, l.width)
	for c := range copies {
		for x := 0; x < n; x++ {
			r := c*g + x%g
			if r >= l.a.Out() {
				continue
			}
			for j := 0; j < g; j++ {
				l.set(j, c*n+x, l.dense[r][(x+j)%n])
			}
			if x < g {
				for i := range l.k {
					l.bias[(c*n+x)*l.k+i] = l.a.Bias[r]
				}
			}
		}
	}
	l.sumEvery(g, n/g)
	return vectorLayout{period: n, group: g, groups: copies}
}

// gather is grouped → periodic with the input's period: output o at position o of
// every copy.
func (l *affineLayer) gather(in vectorLayout, positions int) vectorLayout {
	n, g := in.period, in.group
	l.width, l.diags = l.prm.MaxSlots(), hefloat.Diagonals[float64]{}
	for c := range in.groups {
		for o := range l.a.Out() {
			for u := range g {
				l.set(u-o, c*n+o, l.dense[o][c*g+u])
			}
		}
	}
	// Summing every copy (not only the groups) leaves the same sums in all of them.
	l.sumEvery(n, positions/n)
	l.bias = periodic(interleaved(l.a.Bias, l.k), n*l.k, l.prm.MaxSlots())
	return vectorLayout{period: n}
}

// denseRows returns the layer's weights as rows of n columns.
func denseRows(a *model.Affine, n int) [][]float64 {
	dense := make([][]float64, a.Out())
	for r, row := range a.Rows {
		dense[r] = make([]float64, n)
		for _, t := range row {
			dense[r][t.Index] = t.Weight
		}
	}
	return dense
}
