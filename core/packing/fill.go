package packing

import "sync"

// fillWidth is how many consecutive ciphertexts of a request get their slot values
// laid out at once (Layout.Fill): the batch layout then reads each image's values for
// all of them from one cache line and one page, where one ciphertext at a time would
// touch every image's page again for each.
const fillWidth = 8

// slotBlock holds the slot values of ciphertexts first, first+1, … of a request,
// laid out once by whichever worker needs them first.
type slotBlock struct {
	once  sync.Once
	slots [][]float64
	// left counts the ciphertexts not yet encrypted (under blocks.mu).
	left int
}

// blocks lays out a request's slot values block by block as workers ask for them,
// and recycles a block's memory once its ciphertexts are encrypted: a few blocks are
// in use at a time, whatever the request's size.
type blocks struct {
	layout Layout
	lanes  [][]float64
	count  int
	slots  int // values per ciphertext
	mu     sync.Mutex
	active map[int]*slotBlock
	spare  [][][]float64
}

func newBlocks(layout Layout, lanes [][]float64, count, slots int) *blocks {
	return &blocks{layout: layout, lanes: lanes, count: count, slots: slots, active: map[int]*slotBlock{}}
}

// get returns the slot values of ciphertext k; done(k) must follow once they are
// used.
func (b *blocks) get(k int) []float64 {
	first := k - k%fillWidth
	b.mu.Lock()
	blk := b.active[first]
	if blk == nil {
		blk = &slotBlock{left: min(fillWidth, b.count-first)}
		b.active[first] = blk
	}
	b.mu.Unlock()
	blk.once.Do(func() {
		blk.slots = b.take()[:blk.left]
		for _, s := range blk.slots {
			clear(s)
		}
		b.layout.Fill(blk.slots, first, b.lanes)
	})
	return blk.slots[k-first]
}

// done releases ciphertext k's slot values.
func (b *blocks) done(k int) {
	first := k - k%fillWidth
	b.mu.Lock()
	defer b.mu.Unlock()
	blk := b.active[first]
	if blk == nil {
		return
	}
	if blk.left--; blk.left == 0 {
		delete(b.active, first)
		b.spare = append(b.spare, blk.slots[:cap(blk.slots)])
	}
}

// take returns room for a block, recycled if there is any.
func (b *blocks) take() [][]float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.spare); n > 0 {
		s := b.spare[n-1]
		b.spare = b.spare[:n-1]
		return s
	}
	s := make([][]float64, fillWidth)
	for d := range s {
		s[d] = make([]float64, b.slots)
	}
	return s
}
