package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestPackedRowsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, q := range []uint64{2, 3, 255, 257, 1<<28 + 1, 1<<35 - 31, 1<<45 + 97, 1<<60 - 93, 1<<61 - 1} {
		for _, n := range []int{8, 16, 64, 2048} {
			row := make([]uint64, n)
			for i := range row {
				row[i] = rng.Uint64N(q)
			}
			row[0], row[n-1] = q-1, 0
			packed := packRow(nil, row, q)
			if len(packed) != rowBytes(n, q) {
				t.Fatalf("q=%d n=%d: %d bytes, want %d", q, n, len(packed), rowBytes(n, q))
			}
			got := make([]uint64, n)
			if !unpackRow(packed, got, q) {
				t.Fatalf("q=%d n=%d: reduced values reported unreduced", q, n)
			}
			for i := range row {
				if got[i] != row[i] {
					t.Fatalf("q=%d n=%d: value %d is %d, want %d", q, n, i, got[i], row[i])
				}
			}
			if again := packRow(nil, got, q); !bytes.Equal(again, packed) {
				t.Fatalf("q=%d n=%d: repacking differs", q, n)
			}
		}
	}
}

func TestUnpackRejectsUnreducedValues(t *testing.T) {
	q := uint64(1<<28 + 1)
	row := make([]uint64, 8)
	packed := packRow(nil, row, q)
	for i := range packed {
		packed[i] = 0xff // every value 2^29 − 1 ≥ q
	}
	if unpackRow(packed, make([]uint64, 8), q) {
		t.Fatal("values above q accepted")
	}
}
