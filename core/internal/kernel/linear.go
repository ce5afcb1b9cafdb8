package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Row is one output of an integer linear map: Σ_t Weights[t]·x[Index[t]].
type Row struct {
	Index   []int32
	Weights []int64
}

// Linear is an integer matrix prepared for one path and a list of moduli. Its rows
// are blocked: rows that read the same inputs are computed together, so that each
// input coefficient is loaded once for the whole block (from registers on the vector
// paths). It is read-only after NewLinear and safe for concurrent use.
type Linear struct {
	path    Path
	inputs  int
	outputs int
	moduli  []Modulus
	blocks  []block
}

// block is up to maxRows(path) rows that read the same inputs.
type block struct {
	rows  []int   // the outputs, as indices into the map's rows
	index []int32 // the inputs they read
	// weights[t*len(rows)+k] is the weight of row k on input index[t]; nil when every
	// modulus uses the 52-bit kernels, which read only residues (see signedWeights).
	weights []int64
	// residues[i] is weights modulo moduli[i], for the 52-bit kernels (nil otherwise).
	residues [][]uint64
	// lift is the index of a modulus whose residues give back the weights when
	// weights is nil: the largest, above twice every |weight|.
	lift int
	// families[i] is the kernel used modulo moduli[i]; ends[i] splits the terms into
	// chunks whose sums cannot overflow its accumulators.
	families []family
	ends     [][]int
	// offset, if not nil, says the block is one of several that read the same inputs
	// and whose residues are instead one table, shared by every modulus, of the
	// weights plus offset.b (see shiftGroups).
	offset *offset
}

// offset is the weight shift of a group of blocks that read the same inputs: their
// 52-bit kernels compute Σ_t (w_t + b)·x_t, below q for every modulus, and the group
// subtracts b·Σ_t x_t, whose sum it computes once for all its blocks.
type offset struct {
	b int64
	// neg[i] is −b modulo moduli[i], as a factor.
	neg []Constant
	// first marks the group's first block, where Apply computes Σ_t x_t.
	first *block
}

// maxRows is the most rows a block holds on each path: what one pass of its kernel
// keeps in registers (four int64 accumulator rows for the pure-Go path).
func maxRows(p Path) int {
	switch p {
	case AVX512:
		return ifmaRows
	case AVX2:
		return avx2Rows
	}
	return 4
}

// Rows per block of the vector kernels; the generated assembly has one function per
// row count up to these.
const (
	ifmaRows = 7
	avx2Rows = 6
)

// Chunk bounds per kernel family.
const (
	// ifmaTerms bounds the terms of one 52-bit kernel call: each adds less than 2^52
	// to the low accumulator, which must stay below 2^63 with room for the final sum.
	ifmaTerms = 1024
	// avx2WeightSum bounds Σ|w| within one AVX2 kernel call: the two 32-bit halves of
	// the products then accumulate below 2^51, where float64 conversion is exact.
	// Blocks with a larger weight use the pure-Go kernel.
	avx2WeightSum = 1 << 20
)

// family is the kind of inner loop used modulo one modulus.
type family uint8

const (
	familyGeneric family = iota
	familyAVX2
	familyIFMA
)

// familyFor returns the kernel family path p uses modulo m.
func familyFor(p Path, m Modulus) family {
	switch {
	case p == AVX512 && m.ifma():
		return familyIFMA
	case p == AVX512 || p == AVX2:
		return familyAVX2
	}
	return familyGeneric
}

// genericBudget bounds Σ|w| within one chunk of the pure-Go kernel: the int64
// accumulator, lazily reduced to below 2q between chunks, takes Σ|w|·q more.
func genericBudget(q uint64) int64 {
	return (math.MaxInt64-2*int64(q))/int64(q) - 1
}

// NewLinear prepares the map from `inputs` inputs to len(rows) outputs modulo each of
// moduli for path p. A weight too large for the accumulators of the largest modulus
// is an error.
func NewLinear(p Path, inputs int, rows []Row, moduli []Modulus) (*Linear, error) {
	if !Supported(p) {
		return nil, errs.New(errs.ErrUnsupported, "kernel: the %s path is not supported on this processor", p)
	}
	var qmax uint64
	for _, m := range moduli {
		qmax = max(qmax, m.q)
	}
	limit := genericBudget(qmax)
	for j, r := range rows {
		if len(r.Index) != len(r.Weights) {
			return nil, errs.New(errs.ErrInternal, "kernel: row %d has %d indices and %d weights", j, len(r.Index), len(r.Weights))
		}
		for t, i := range r.Index {
			if i < 0 || int(i) >= inputs {
				return nil, errs.New(errs.ErrInternal, "kernel: row %d reads input %d of %d", j, i, inputs)
			}
			if w := r.Weights[t]; w > limit || w < -limit {
				return nil, errs.New(errs.ErrUnsupported, "kernel: weight %d of row %d exceeds %d, the most a %d-bit modulus allows", w, j, limit, bits.Len64(qmax))
			}
		}
	}
	l := &Linear{path: p, inputs: inputs, outputs: len(rows), moduli: moduli}
	same := map[string]int{} // the blocks built so far, by weightsKey
	for _, rs := range groupByIndex(rows, maxRows(p)) {
		l.blocks = append(l.blocks, l.newBlock(rows, rs, same))
	}
	l.shiftGroups()
	return l, nil
}

// shiftGroups gives one weight table to all moduli in every group of blocks that read
// the same inputs, when all use the 52-bit kernels: instead of a table of residues per
// modulus, the weights plus an offset b ≥ |w| (so non-negative, and below every
// modulus), and Apply subtracts b·Σ_t x_t. The sum costs about a row of a block's
// work, so a group of a single block keeps its residues.
func (l *Linear) shiftGroups() {
	qmin := uint64(math.MaxUint64)
	for _, m := range l.moduli {
		if familyFor(l.path, m) != familyIFMA {
			return
		}
		qmin = min(qmin, m.q)
	}
	for g := 0; g < len(l.blocks); {
		end := g + 1
		for end < len(l.blocks) && slices.Equal(l.blocks[end].index, l.blocks[g].index) {
			end++
		}
		if end-g >= 2 {
			l.shift(l.blocks[g:end], qmin)
		}
		g = end
	}
}

// shift makes the blocks of one group share an offset weight table, if the weights
// allow (see shiftGroups).
func (l *Linear) shift(group []block, qmin uint64) {
	if len(group[0].index) == 0 {
		return // nothing to sum
	}
	weights := make([][]int64, len(group))
	var b int64
	for k := range group {
		weights[k] = group[k].signedWeights(l.moduli)
		for _, w := range weights[k] {
			b = max(b, w, -w)
		}
	}
	if b == 0 || uint64(b) >= qmin/2 {
		return
	}
	o := &offset{b: b, first: &group[0]}
	for _, m := range l.moduli {
		o.neg = append(o.neg, Constant{w: m.q - uint64(b), shoup: shoup52(m.q-uint64(b), m.q)})
	}
	for k := range group {
		blk := &group[k]
		u := make([]uint64, len(weights[k]))
		for t, w := range weights[k] {
			u[t] = uint64(w + b)
		}
		blk.residues = make([][]uint64, len(l.moduli)) // not the outer slice it may share
		for i := range blk.residues {
			blk.residues[i] = u
		}
		blk.weights, blk.offset = nil, o
	}
}

// groupByIndex splits the rows into groups that read the same index list, each of at
// most size rows; a list shared by more rows is split into groups of near-equal size.
func groupByIndex(rows []Row, size int) [][]int {
	var keys []string
	shared := map[string][]int{}
	for j, r := range rows {
		b := make([]byte, 0, 4*len(r.Index))
		for _, i := range r.Index {
			b = binary.LittleEndian.AppendUint32(b, uint32(i))
		}
		k := string(b)
		if _, ok := shared[k]; !ok {
			keys = append(keys, k)
		}
		shared[k] = append(shared[k], j)
	}
	var groups [][]int
	for _, k := range keys {
		js := shared[k]
		parts := (len(js) + size - 1) / size
		for p := range parts {
			groups = append(groups, js[p*len(js)/parts:(p+1)*len(js)/parts])
		}
	}
	return groups
}

// weightsKey identifies a block by its number of rows and its weights.
func weightsKey(width int, weights []int64) string {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+8*len(weights)), uint32(width))
	for _, w := range weights {
		b = binary.LittleEndian.AppendUint64(b, uint64(w))
	}
	return string(b)
}

// newBlock builds the block of rows rs. A block with the rows and weights of one built
// before (a convolution's blocks all have the kernel's weights) shares its read-only
// tables; same maps the weightsKey of each block built so far to its index.
func (l *Linear) newBlock(rows []Row, rs []int, same map[string]int) block {
	b := block{rows: rs, index: rows[rs[0]].Index}
	terms, width := len(b.index), len(rs)
	b.weights = make([]int64, terms*width)
	for k, j := range rs {
		for t, w := range rows[j].Weights {
			b.weights[t*width+k] = w
		}
	}
	key := weightsKey(width, b.weights)
	if i, ok := same[key]; ok {
		c := &l.blocks[i]
		b.weights, b.residues, b.lift, b.families, b.ends = c.weights, c.residues, c.lift, c.families, c.ends
		return b
	}
	b.residues = make([][]uint64, len(l.moduli))
	b.families = make([]family, len(l.moduli))
	b.ends = make([][]int, len(l.moduli))
	var wmax int64
	for _, w := range b.weights {
		wmax = max(wmax, w, -w)
	}
	ifmaOnly := len(l.moduli) > 0
	for i, m := range l.moduli {
		f := familyFor(l.path, m)
		if f == familyAVX2 && wmax > avx2WeightSum {
			f = familyGeneric // the AVX2 accumulators would lose exactness
		}
		b.families[i] = f
		if f == familyIFMA {
			b.residues[i] = make([]uint64, len(b.weights))
			for t, w := range b.weights {
				b.residues[i][t] = m.residue(w)
			}
			if m.q > l.moduli[b.lift].q {
				b.lift = i
			}
		} else {
			ifmaOnly = false
		}
		b.ends[i] = b.chunkEnds(f, m, b.weights)
	}
	if ifmaOnly && uint64(wmax) < l.moduli[b.lift].q/2 {
		b.weights = nil // the residues modulo moduli[lift] keep them
	}
	same[key] = len(l.blocks)
	return b
}

// signedWeights returns the block's weights, lifting them from the residues modulo
// moduli[lift] (to (−q/2, q/2)) into a new slice if the block keeps only residues.
func (b *block) signedWeights(moduli []Modulus) []int64 {
	if b.weights != nil {
		return b.weights
	}
	q, r := moduli[b.lift].q, b.residues[b.lift]
	w := make([]int64, len(r))
	if b.offset != nil {
		for t, v := range r {
			w[t] = int64(v) - b.offset.b
		}
		return w
	}
	for t, v := range r {
		w[t] = int64(v)
		if v > q/2 {
			w[t] -= int64(q)
		}
	}
	return w
}

// chunkEnds splits the block's terms, with weights w, into chunks a kernel of family
// f can sum modulo m without overflow.
func (b *block) chunkEnds(f family, m Modulus, w []int64) []int {
	var ends []int
	switch f {
	case familyIFMA:
		for t := ifmaTerms; t < len(b.index); t += ifmaTerms {
			ends = append(ends, t)
		}
		return append(ends, len(b.index))
	case familyAVX2:
		return b.weightSumEnds(avx2WeightSum, w)
	}
	return b.weightSumEnds(genericBudget(m.q), w)
}

// weightSumEnds splits the terms, with weights weights, so that within a chunk
// Σ_t max_k |w_kt| ≤ budget; a single weight above the budget gets a chunk of its own.
func (b *block) weightSumEnds(budget int64, weights []int64) []int {
	var ends []int
	var sum int64
	width := len(b.rows)
	for t := range b.index {
		var m int64
		for _, w := range weights[t*width : (t+1)*width] {
			m = max(m, w, -w)
		}
		if t > 0 && sum+m > budget {
			ends = append(ends, t)
			sum = 0
		}
		sum += m
	}
	return append(ends, len(b.index))
}

// Inputs returns the number of inputs of the map.
func (l *Linear) Inputs() int { return l.inputs }

// Outputs returns the number of outputs of the map.
func (l *Linear) Outputs() int { return l.outputs }

// Path returns the path the map was prepared for.
func (l *Linear) Path() Path { return l.path }

// Bytes returns the memory the prepared map holds: its blocks (slice headers
// included), their indices, and their weights, residues and chunk bounds, counting
// once the tables blocks share.
func (l *Linear) Bytes() int64 {
	const header = int64(unsafe.Sizeof([]uint64{}))
	n := int64(unsafe.Sizeof(block{})) * int64(cap(l.blocks))
	seen := map[unsafe.Pointer]bool{}
	// size is bytes, unless the slice at p was counted already.
	size := func(p unsafe.Pointer, bytes int64) int64 {
		if p == nil || seen[p] {
			return 0
		}
		seen[p] = true
		return bytes
	}
	for _, b := range l.blocks {
		n += 8*int64(cap(b.rows)) + 4*int64(len(b.index))
		n += size(unsafe.Pointer(unsafe.SliceData(b.weights)), 8*int64(len(b.weights)))
		n += size(unsafe.Pointer(unsafe.SliceData(b.families)), int64(len(b.families)))
		n += size(unsafe.Pointer(unsafe.SliceData(b.residues)), header*int64(len(b.residues)))
		n += size(unsafe.Pointer(unsafe.SliceData(b.ends)), header*int64(len(b.ends)))
		for _, r := range b.residues {
			n += size(unsafe.Pointer(unsafe.SliceData(r)), 8*int64(len(r)))
		}
		for _, e := range b.ends {
			n += size(unsafe.Pointer(unsafe.SliceData(e)), 8*int64(cap(e)))
		}
	}
	return n
}

// Apply computes, for every output j and every coefficient position c,
//
//	dst[j][c] = (bias[j] + Σ_t w_jt·src[i_jt][c]) mod q,  in [0, q),
//
// where q is moduli[limb] of the map. Every src and dst row has the same length; src
// coefficients are below q and bias values below q; a nil bias adds nothing. dst rows
// must not overlap src rows.
func (l *Linear) Apply(dst, src [][]uint64, limb int, bias []uint64) {
	if len(src) != l.inputs || len(dst) != l.outputs || (bias != nil && len(bias) != l.outputs) {
		panic(fmt.Sprintf("kernel: Apply with %d inputs, %d outputs and %d biases on a %d→%d map",
			len(src), len(dst), len(bias), l.inputs, l.outputs))
	}
	if len(dst) == 0 {
		return
	}
	n := len(dst[0])
	for _, rows := range [][][]uint64{src, dst} {
		for _, r := range rows {
			if len(r) != n {
				panic(fmt.Sprintf("kernel: Apply with rows of %d and %d coefficients", n, len(r)))
			}
		}
	}
	m := &l.moduli[limb]
	// sum is Σ_t x_t for the current group of shifted blocks (see shiftGroups), on the
	// coefficients the vector kernels cover.
	var sumSpace [sumSpan]uint64
	sum := sumSpace[:]
	for bi := range l.blocks {
		b := &l.blocks[bi]
		f := b.families[limb]
		var bs [maxBlockRows]uint64
		if bias != nil {
			for k, j := range b.rows {
				bs[k] = bias[j]
			}
		}
		done := 0
		if f != familyGeneric {
			if o := b.offset; o != nil {
				if o.first == b {
					if len(sum) < n {
						sum = make([]uint64, n)
					}
					sumInputs(b, sum, src, limb, m, n)
				}
				done = applyVector(f, b, dst, src, limb, m, bs[:len(b.rows)], n)
				for _, j := range b.rows {
					if done > 0 {
						mulConstAddIFMA(&dst[j][0], &sum[0], done, o.neg[limb].w, o.neg[limb].shoup, &m.c.q)
					}
				}
			} else {
				done = applyVector(f, b, dst, src, limb, m, bs[:len(b.rows)], n)
			}
		}
		if done < n {
			// A tail shorter than the vector kernels' lanes: the pure-Go kernel.
			weights, ends := b.signedWeights(l.moduli), b.ends[limb]
			if f != familyGeneric {
				ends = b.weightSumEnds(genericBudget(m.q), weights)
			}
			applyGeneric(b, weights, ends, dst, src, *m, bs[:len(b.rows)], done, n)
		}
	}
}

// sumSpan is the most coefficients whose input sums Apply keeps on the stack.
const sumSpan = 256

// maxBlockRows is the largest maxRows of any path.
const maxBlockRows = ifmaRows

// genericSpan is the number of coefficients the pure-Go kernel accumulates at a time.
const genericSpan = 64

// applyGeneric is the pure-Go kernel on coefficients [lo, hi) with the block's
// weights: int64 accumulators, lazily reduced between chunks of terms, then reduced
// with the bias.
func applyGeneric(b *block, weights []int64, ends []int, dst, src [][]uint64, m Modulus, bias []uint64, lo, hi int) {
	var acc [maxBlockRows][genericSpan]int64
	width := len(b.rows)
	for off := lo; off < hi; off += genericSpan {
		n := min(genericSpan, hi-off)
		for k := range width {
			clear(acc[k][:n])
		}
		start := 0
		for e, end := range ends {
			for t := start; t < end; t++ {
				c := src[b.index[t]][off : off+n]
				w := weights[t*width : (t+1)*width]
				switch width {
				case 4:
					mac4(acc[0][:n], acc[1][:n], acc[2][:n], acc[3][:n], c, w[0], w[1], w[2], w[3])
				case 3:
					mac2(acc[0][:n], acc[1][:n], c, w[0], w[1])
					mac(acc[2][:n], c, w[2])
				case 2:
					mac2(acc[0][:n], acc[1][:n], c, w[0], w[1])
				default:
					for k := range width {
						mac(acc[k][:n], c, w[k])
					}
				}
			}
			if e < len(ends)-1 {
				for k := range width {
					for i, v := range acc[k][:n] {
						acc[k][i] = m.reduceLazy(v)
					}
				}
			}
			start = end
		}
		for k, j := range b.rows {
			out := dst[j][off : off+n]
			for i, v := range acc[k][:n] {
				out[i] = m.reduce(m.reduceLazy(v) + int64(bias[k]))
			}
		}
	}
}

// mac adds w·c to acc, coefficient-wise.
func mac(acc []int64, c []uint64, w int64) {
	c = c[:len(acc)]
	for k, v := range c {
		acc[k] += w * int64(v)
	}
}

// mac2 is mac for two rows that read the same input.
func mac2(acc0, acc1 []int64, c []uint64, w0, w1 int64) {
	c = c[:len(acc0)]
	acc1 = acc1[:len(acc0)]
	for k, v := range c {
		x := int64(v)
		acc0[k] += w0 * x
		acc1[k] += w1 * x
	}
}

// mac4 is mac for four rows that read the same input.
func mac4(acc0, acc1, acc2, acc3 []int64, c []uint64, w0, w1, w2, w3 int64) {
	c = c[:len(acc0)]
	acc1, acc2, acc3 = acc1[:len(acc0)], acc2[:len(acc0)], acc3[:len(acc0)]
	for k, v := range c {
		x := int64(v)
		acc0[k] += w0 * x
		acc1[k] += w1 * x
		acc2[k] += w2 * x
		acc3[k] += w3 * x
	}
}
