package packing

import (
	"math/rand/v2"
	"sync"
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
// several goroutines in a shuffled order: each gets its own values, the blocks are
// let go once used, and their memory is recycled.
func TestBlocksLayOutEachCiphertextOnce(t *testing.T) {
	const count, slots = 203, 16
	b := newBlocks(indexLayout{}, nil, count, slots)
	order := rand.New(rand.NewPCG(1, 2)).Perm(count)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < count; i += 4 {
				k := order[i]
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
		t.Fatalf("%d blocks still held", len(b.active))
	}
	if made := len(b.spare); made >= (count+fillWidth-1)/fillWidth {
		t.Fatalf("%d blocks made for %d ciphertexts: none recycled", made, count)
	}
}
