package packing

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// indexLayout puts k+d in every slot of slots[d]: which ciphertext a block holds.
type indexLayout struct{}

func (indexLayout) Fill(slots [][]float64, k int, _ [][]float64) {
	for d, s := range slots {
		for i := range s {
			s[i] = float64(k + d)
		}
	}
}

// TestBlocksLayOutEachCiphertextOnce asks for every ciphertext of a request from
// several goroutines, in a shuffled order and in order as workers take them: each gets
// its own values, every block is let go once used, and in order only a few blocks'
// memory is ever made.
func TestBlocksLayOutEachCiphertextOnce(t *testing.T) {
	const count, slots, goroutines = 203, 16, 4
	shuffled := rand.New(rand.NewPCG(1, 2)).Perm(count)
	for _, inOrder := range []bool{false, true} {
		b := newBlocks(indexLayout{}, nil, count, slots)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < count; i = int(next.Add(1) - 1) {
					k := i
					if !inOrder {
						k = shuffled[i]
					}
					for _, v := range b.get(k) {
						if v != float64(k) {
							t.Errorf("ciphertext %d got the values of %v", k, v)
							break
						}
					}
					b.done(k)
				}
			}()
		}
		wg.Wait()
		if len(b.active) != 0 {
			t.Fatalf("in order %v: %d blocks still held", inOrder, len(b.active))
		}
		if made := len(b.spare); inOrder && made > goroutines+1 {
			t.Fatalf("%d blocks made for %d ciphertexts taken in order by %d goroutines", made, count, goroutines)
		}
	}
}
