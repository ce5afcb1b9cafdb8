package batch

import (
	"hash"
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// A layer of thousands of values, each a ciphertext of N coefficients per limb, takes
// gigabytes: LeNet-5's first convolution gives 3,456 ciphertexts of 11 limbs at
// N = 2^14, 9.7 GB, and 15 GB once squared. Where a linear layer, an activation and a
// second linear layer that reads few of the activation's values (a pool) follow each
// other, the plan evaluates them as a segment, in chunks of the second layer's
// outputs: each chunk computes only the values of the first layer that it needs,
// applies the activation to them and the second layer, and drops them before the next
// chunk. Peak memory is then the segment's inputs and outputs and one chunk.

// chunkBytes is the most memory a chunk's intermediate values may take.
const chunkBytes = 1 << 30

// segmentStep evaluates the stages of a segment chunk by chunk; every chunk reads the
// segment's inputs, which are released when all chunks are done.
type segmentStep struct {
	inputs, outputs int
	chunks          []segmentChunk
	info0           []packing.Step // the steps of the whole segment, for reports
}

// segmentChunk is one chunk: the segment inputs it reads, its steps and the segment
// outputs they compute, in order.
type segmentChunk struct {
	inputs []int
	steps  []step
	rows   []int
}

// segment compiles stages i, i+1 and i+2 into a segmentStep when they form a segment
// (linear, activation, linear) whose intermediate values would take more than a chunk
// and whose second layer reads few values per output (the chunks compute at most a
// quarter of them twice); ok is false otherwise.
func (c *stageCompiler) segment(i int, st state) (step, state, bool, error) {
	if i+2 >= len(c.stages) || c.stages[i].Affine == nil || c.stages[i+1].Activation == nil || c.stages[i+2].Affine == nil {
		return nil, st, false, nil
	}
	first, second := c.stages[i].Affine, c.stages[i+2].Affine
	act, err := describeActivation(c.stages[i+1].Activation)
	if err != nil {
		return nil, st, false, err
	}
	perValue := (st.degree*act.power + 1) * (st.level + 1) * c.prm.N() * 8
	if first.Out()*perValue <= c.chunk {
		return nil, st, false, nil
	}
	chunks := chunkRows(second, c.chunk/perValue, localOrder(first, second))
	computed := 0
	for _, rows := range chunks {
		computed += len(neededInputs(second, rows))
	}
	// Chunks that would compute the first layer's values again and again (a dense
	// second layer reads them all) cost more than the memory they save.
	if len(chunks) < 2 || 4*computed > 5*first.Out() {
		return nil, st, false, nil
	}
	// Compile the whole segment once, for its final state and its description.
	whole := st
	seg := &segmentStep{inputs: first.In, outputs: second.Out()}
	for k := i; k <= i+2; k++ {
		out, err := c.stage(k, whole, nil, nil, nil)
		if err != nil {
			return nil, st, false, err
		}
		for _, s := range out.steps {
			seg.info0 = append(seg.info0, s.info())
		}
		whole = out.st
	}
	owned := make([]bool, first.Out())
	for _, rows := range chunks {
		needed := neededInputs(second, rows)
		own := make([]bool, len(needed))
		for k, j := range needed {
			own[k], owned[j] = !owned[j], true
		}
		// The chunk's first layer reads only the segment inputs its rows read.
		inputs := neededInputs(c.stages[i].Affine, needed)
		first, err := c.stageRemapped(i, st, needed, inputs)
		if err != nil {
			return nil, st, false, err
		}
		mid, err := c.stage(i+1, first.st, needed, own, nil)
		if err != nil {
			return nil, st, false, err
		}
		last, err := c.stageRemapped(i+2, mid.st, rows, needed)
		if err != nil {
			return nil, st, false, err
		}
		steps := append(append(first.steps, mid.steps...), last.steps...)
		steps[0].(*linearStep).keep = true
		seg.chunks = append(seg.chunks, segmentChunk{inputs: inputs, steps: steps, rows: rows})
	}
	return seg, whole, true, nil
}

// stageRemapped compiles linear stage i restricted to rows, reading the values needed
// (global indices, sorted) as its inputs 0, 1, ….
func (c *stageCompiler) stageRemapped(i int, st state, rows, needed []int) (stageSteps, error) {
	local := map[int]int{}
	for k, j := range needed {
		local[j] = k
	}
	a := restrictRows(c.stages[i].Affine, rows)
	a.In = len(needed)
	for j, row := range a.Rows {
		r := make([]model.Term, len(row))
		for t, term := range row {
			r[t] = model.Term{Index: local[term.Index], Weight: term.Weight}
		}
		a.Rows[j] = r
	}
	return c.stage(i, st, rows, nil, a)
}

// restrictRows returns the affine map of a's rows.
func restrictRows(a *model.Affine, rows []int) *model.Affine {
	out := &model.Affine{In: a.In, Rows: make([][]model.Term, len(rows)), Bias: make([]float64, len(rows))}
	for k, j := range rows {
		out.Rows[k], out.Bias[k] = a.Rows[j], a.Bias[j]
	}
	return out
}

// restrictMonitor returns the monitor on the values rows, counting only the owned
// ones (each value is counted by one chunk).
func restrictMonitor(mon monitorPlan, rows []int, owned []bool) monitorPlan {
	out := mon
	out.weights = make([]float64, len(rows))
	for k, j := range rows {
		if owned[k] {
			out.weights[k] = mon.weights[j]
		}
	}
	return out
}

// neededInputs returns, sorted, the inputs that the rows of a read.
func neededInputs(a *model.Affine, rows []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, j := range rows {
		for _, t := range a.Rows[j] {
			if !seen[t.Index] {
				seen[t.Index] = true
				out = append(out, t.Index)
			}
		}
	}
	slices.Sort(out)
	return out
}

// localOrder orders the rows of second so that rows whose inputs (values of first)
// read the same region of first's inputs come together: by the first input of first
// that any of their inputs reads, ties in their order. After a convolution and a
// pool, the pool's outputs at one position in every channel come together, so that
// a chunk holds whole blocks of the convolution's rows (every channel at a position
// reads the same inputs) and reads one band of the image.
func localOrder(first, second *model.Affine) []int {
	start := make([]int, len(second.Rows))
	for j, row := range second.Rows {
		start[j] = first.In
		for _, t := range row {
			for _, u := range first.Rows[t.Index] {
				start[j] = min(start[j], u.Index)
			}
		}
	}
	order := make([]int, len(second.Rows))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return start[a] - start[b] })
	return order
}

// chunkRows splits the rows of a, taken in the given order, into chunks that read at
// most limit inputs each (a row that alone reads more makes a chunk of its own). A
// map whose rows read most of its inputs gives one chunk.
func chunkRows(a *model.Affine, limit int, order []int) [][]int {
	var chunks [][]int
	var cur []int
	seen := map[int]bool{}
	for _, j := range order {
		row := a.Rows[j]
		added := 0
		for _, t := range row {
			if !seen[t.Index] {
				added++
			}
		}
		if len(cur) > 0 && len(seen)+added > limit {
			chunks, cur, seen = append(chunks, cur), nil, map[int]bool{}
		}
		cur = append(cur, j)
		for _, t := range row {
			seen[t.Index] = true
		}
	}
	return append(chunks, cur)
}

// info describes the segment as its last step; Plan.Steps lists all of them.
func (s *segmentStep) info() packing.Step { return s.info0[len(s.info0)-1] }

func (s *segmentStep) hash(h hash.Hash) {
	hashInts(h, 7, int64(s.inputs), int64(s.outputs), int64(len(s.chunks)))
	for _, c := range s.chunks {
		hashInts(h, int64(len(c.rows)))
		for _, st := range c.steps {
			st.hash(h)
		}
	}
}

func (s *segmentStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.inputs {
		return nil, errs.New(errs.ErrInternal, "segment: %d inputs, want %d", len(in), s.inputs)
	}
	out := make([]*rlwe.Ciphertext, s.outputs)
	for _, c := range s.chunks {
		x := make([]*rlwe.Ciphertext, len(c.inputs))
		for k, t := range c.inputs {
			x[k] = in[t]
		}
		for _, st := range c.steps {
			var err error
			if x, err = st.apply(ev, x); err != nil {
				return nil, err
			}
		}
		for k, j := range c.rows {
			out[j] = x[k]
		}
	}
	ev.pool.release(in...)
	return out, nil
}
