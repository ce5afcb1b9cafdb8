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

// TestUnpackRejectsUnreducedValues packs one value of 2^width − 1 (q or more) into
// rows of reduced values, first, in the middle and last, for narrow and wide moduli.
func TestUnpackRejectsUnreducedValues(t *testing.T) {
	for _, q := range []uint64{3, 1<<28 + 1, 1<<45 + 97, 1<<56 - 5, 1<<57 + 9, 1<<61 - 1} {
		for _, k := range []int{0, 37, 63} {
			row := make([]uint64, 64)
			for i := range row {
				row[i] = q - 1 - uint64(i)%q
			}
			row[k] = 1<<bitsFor(q) - 1
			if unpackRow(packRow(nil, row, q), make([]uint64, len(row)), q) {
				t.Fatalf("q=%d: the value %d at %d was accepted", q, row[k], k)
			}
		}
	}
}

// BenchmarkUnpackRow unpacks one row of the shipped parameters' size (N = 8192,
// a 43-bit prime); bytes per second count the unpacked words.
func BenchmarkUnpackRow(b *testing.B) {
	q := uint64(1<<43 + 1)
	row := make([]uint64, 8192)
	for i := range row {
		row[i] = uint64(i) * 977
	}
	packed := packRow(nil, row, q)
	b.SetBytes(int64(len(row) * 8))
	for b.Loop() {
		unpackRow(packed, row, q)
	}
}
