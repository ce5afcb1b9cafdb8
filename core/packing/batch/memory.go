package batch

import (
	"unsafe"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/packing"
)

// Memory estimates the plan's memory (see packing.Memory). An evaluation holds, at
// its peak, one step's inputs, its outputs and its workers' scratch (steps free
// their inputs only once every output exists); the plan holds its quantized weights
// (Resident), and its pool keeps rows for the next batch, at most one evaluation's
// worth (Kept).
func (p *Plan) Memory() packing.Memory {
	eval := p.evaluationRows() * p.rowBytes()
	return packing.Memory{Evaluation: eval, Resident: packing.ParametersBytes(p.params) + p.kernelBytes() + weightBytes(p.steps), Kept: p.poolBytes(eval)}
}

// kernelBytes estimates the tables of the plan's kernels: the vector transforms'
// four tables of N words per prime (at most: each direction's two are made on its
// first use) and, with key switching, a Lattigo ring of its
// own over Q and P (its transforms' two tables of 2N words, and their constants: as
// many again).
func (p *Plan) kernelBytes() int64 {
	row := int64(p.params.N()) * 8
	if p.kernels.keys != nil {
		return int64(p.params.QCount()+p.params.PCount()) * 12 * row
	}
	return int64(p.params.QCount()) * 4 * row
}

// rowBytes is the size of one coefficient row (one limb of one polynomial).
func (p *Plan) rowBytes() int64 { return int64(p.params.N()) * 8 }

// keptRows is the most rows the plan's pool keeps between batches when one
// evaluation takes eval bytes: the rows and the pool's list of them take at most
// maxPooledBytes.
func (p *Plan) keptRows(eval int64) int64 { return min(maxPooledBytes, eval) / p.keptRowBytes() }

// keptRowBytes is the memory of one row the pool keeps: its coefficients and its
// entry in the pool's list.
func (p *Plan) keptRowBytes() int64 { return p.rowBytes() + int64(unsafe.Sizeof([]uint64{})) }

// poolBytes is the memory of the rows the plan's pool keeps between batches, and of
// its list of them, when one evaluation takes eval bytes.
func (p *Plan) poolBytes(eval int64) int64 { return p.keptRows(eval) * p.keptRowBytes() }

// evaluationRows counts the coefficient rows an evaluation holds at its peak.
func (p *Plan) evaluationRows() int64 {
	m := p.manifest
	return p.stepsPeak(p.run, m.InputCiphertexts, 1, m.InputLevel) + slabRows(p.run, p.params.N())
}

// slabRows counts the rows of the largest slab of the linear steps (one per
// evaluation, reused from step to step: see linearStep.evaluate).
func slabRows(steps []step, n int) int64 {
	var most int64
	for _, s := range steps {
		switch st := s.(type) {
		case *linearStep:
			most = max(most, st.slabRows(n))
		case *squaredLinearStep:
			most = max(most, st.linear.slabRows(n))
		case *segmentStep:
			for _, c := range st.chunks {
				most = max(most, slabRows(c.steps, n))
			}
		}
	}
	return most
}

// slabRows counts the rows of the step's slab.
func (s *linearStep) slabRows(n int) int64 {
	words := int64(s.inputs) * int64(min(n, spanSize))
	return (words + int64(n) - 1) / int64(n)
}

// rows counts the coefficient rows of count ciphertexts of the given degree and level.
func rows(count, degree, level int) int64 {
	return int64(count) * int64(degree+1) * int64(level+1)
}

// stepsPeak returns the most rows steps hold at once when their inputs are count
// ciphertexts of the given degree and level.
func (p *Plan) stepsPeak(steps []step, count, degree, level int) int64 {
	workers := int64(defaultWorkers())
	top := int64(p.params.MaxLevel() + 1)
	peak := rows(count, degree, level)
	for _, s := range steps {
		info := s.info()
		in := rows(count, degree, level)
		out := rows(info.Outputs, info.Degree, info.Level)
		var scratch, shared int64
		switch st := s.(type) {
		case *linearStep, *squaredLinearStep:
			// A squared linear step reads the square's inputs: its squares are never
			// written out.
			out = rows(info.Outputs, info.Degree, info.Level+info.Rescales)
			scratch = top
		case *squareStep:
			scratch = rows(1, 2*degree, level) + top
		case *relinStep:
			// In place: each ciphertext gives its third polynomial back.
			out = 0
			scratch = int64(kernel.RelinearizationRows(level))
		case *polyStep:
			for k := 2; k <= st.power; k++ {
				scratch += rows(1, k*st.inDegree, level)
			}
			if st.rescales > 0 {
				scratch += rows(1, info.Degree, level) + top
			}
		case *powerPolyStep:
			// The powers, relinearized, and one tensor product before its
			// relinearization.
			scratch = int64(st.power-1)*rows(1, 1, level) + rows(1, 2, level) + top + int64(kernel.RelinearizationRows(level))
		case *monitorOutputStep:
			// One worker: a scratch poly for the rescales, and a relinearization's rows.
			shared = top
			if st.relin {
				shared += int64(kernel.RelinearizationRows(level))
			}
		case *segmentStep:
			// The segment's inputs stay while each chunk computes its outputs.
			var chunk int64
			for _, c := range st.chunks {
				n := len(c.inputs)
				chunk = max(chunk, p.stepsPeak(c.steps, n, degree, level)-rows(n, degree, level))
			}
			scratch = chunk / workers
		}
		peak = max(peak, in+out+workers*scratch+shared)
		count, degree, level = info.Outputs, info.Degree, info.Level
	}
	return peak
}

// weightBytes is the size of the steps' quantized weights (as compiled, and prepared
// for the kernels) and bias residues, those of segments' chunks included, with the
// slice headers, and an eighth more: Go rounds small allocations up to size classes
// at most that far apart.
func weightBytes(steps []step) int64 {
	const header = int64(unsafe.Sizeof([]uint64{}))
	var n int64
	for _, s := range steps {
		switch st := s.(type) {
		case *linearStep:
			for _, r := range st.rows {
				n += 2*header + 4*int64(len(r.Index)) + 8*int64(len(r.Weights))
			}
			n += st.matrix.Bytes()
			for _, b := range st.bias {
				n += header + 8*int64(len(b))
			}
		case *segmentStep:
			for _, c := range st.chunks {
				n += weightBytes(c.steps)
			}
		}
	}
	return n + n/8
}
