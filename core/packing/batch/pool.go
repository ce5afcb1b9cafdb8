package batch

import (
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// rowPool recycles coefficient rows (one RNS limb of one polynomial, N words) between
// steps and between batches: a batch's steps free as much memory as they take, and
// fresh pages cost more than the arithmetic on them. While evaluations run it keeps
// every row they give back: a row is allocated only when none is free, so the pool
// and the rows in use never hold more than the most the evaluations held at once,
// and no row becomes garbage. When the last evaluation ends it keeps at most maxFree
// rows for the next batch. It is safe for concurrent use.
type rowPool struct {
	mu      sync.Mutex
	n       int
	maxFree int
	free    [][]uint64
	active  int // evaluations running
}

// maxPooledBytes bounds the memory a pool keeps between batches (its rows and its
// list of them).
const maxPooledBytes = 1 << 30

// newRowPool returns a pool of rows of n coefficients that keeps at most maxFree free
// rows between evaluations.
func newRowPool(n, maxFree int) *rowPool {
	return &rowPool{n: n, maxFree: maxFree}
}

// begin marks the start of an evaluation: until its end, every row given back is kept.
func (p *rowPool) begin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active++
}

// end marks the end of an evaluation; after the last one, the pool keeps at most
// maxFree rows.
func (p *rowPool) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active--; p.active == 0 && len(p.free) > p.maxFree {
		// A list of exactly the rows kept: the evaluations' may be far longer.
		p.free = append([][]uint64(nil), p.free[:p.maxFree]...)
	}
}

// get returns a row whose contents are undefined.
func (p *rowPool) get() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := len(p.free); k > 0 {
		row := p.free[k-1]
		p.free = p.free[:k-1]
		return row
	}
	return make([]uint64, p.n)
}

func (p *rowPool) put(rows ...[]uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rows {
		if (p.active > 0 || len(p.free) < p.maxFree) && len(r) == p.n {
			p.free = append(p.free, r)
		}
	}
}

// ciphertext returns a ciphertext of the given degree and level whose coefficients
// are undefined, with MetaData copied from like.
func (p *rowPool) ciphertext(degree, level int, like *rlwe.MetaData) *rlwe.Ciphertext {
	polys := make([]ring.Poly, degree+1)
	for i := range polys {
		polys[i] = p.poly(level)
	}
	ct, _ := rlwe.NewCiphertextAtLevelFromPoly(level, polys) // cannot fail: levels match
	*ct.MetaData = *like
	return ct
}

func (p *rowPool) poly(level int) ring.Poly {
	rows := make([][]uint64, level+1)
	for i := range rows {
		rows[i] = p.get()
	}
	return ring.Poly{Coeffs: rows}
}

// release returns every row of the ciphertexts to the pool; they must not be used again.
func (p *rowPool) release(cts ...*rlwe.Ciphertext) {
	for _, ct := range cts {
		if ct == nil {
			continue
		}
		for _, poly := range ct.Value {
			p.put(poly.Coeffs...)
		}
	}
}
