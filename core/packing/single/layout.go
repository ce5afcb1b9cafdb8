package single

import (
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/cbor"
	"github.com/cryptonets/cryptonets/core/manifest"
)

// im2col tells a client where each input value goes: the im2col of the first affine
// layer, for k = ImagesPerCiphertext interleaved images. Ciphertext c, segment s
// (SegmentLength·k slots from slot s·SegmentLength·k) holds in slot o·k + i the value
// of image i that term t = c·SegmentsPerCiphertext + s of first-layer output o reads,
// Gather[t][o] (-1: zero); the used segments repeat over the rest of the slots. It
// travels CBOR-encoded in the manifest's Layout.
type im2col struct {
	Ciphertexts           int       `codec:"ciphertexts"`
	SegmentLength         int       `codec:"segment_length"`
	SegmentsPerCiphertext int       `codec:"segments_per_ciphertext"`
	ImagesPerCiphertext   int       `codec:"images_per_ciphertext"`
	Gather                [][]int32 `codec:"gather"`
}

// decodeIm2col decodes and checks the layout of a single-packing manifest m whose
// common fields are valid, for ciphertexts of the given slot count.
func decodeIm2col(m *manifest.Manifest, slots int) (*im2col, error) {
	l := new(im2col)
	if err := cbor.Unmarshal(m.Layout, l); err != nil {
		return nil, errs.New(errs.ErrMalformed, "single: manifest layout: %w", err)
	}
	malformed := func(format string, args ...any) error {
		return errs.New(errs.ErrMalformed, "single: manifest layout: "+format, args...)
	}
	n := m.Input.Size()
	switch {
	case l.Ciphertexts != m.InputCiphertexts:
		return nil, malformed("%d ciphertexts, the manifest says %d", l.Ciphertexts, m.InputCiphertexts)
	case l.ImagesPerCiphertext < 1 || l.ImagesPerCiphertext&(l.ImagesPerCiphertext-1) != 0 || l.ImagesPerCiphertext > slots:
		return nil, malformed("%d images per ciphertext is not a power of two up to %d", l.ImagesPerCiphertext, slots)
	case l.SegmentLength < 1 || l.SegmentLength&(l.SegmentLength-1) != 0 || l.SegmentLength > slots/l.ImagesPerCiphertext:
		return nil, malformed("segment length %d is not a power of two up to %d", l.SegmentLength, slots/l.ImagesPerCiphertext)
	case l.SegmentsPerCiphertext < 1 || l.SegmentsPerCiphertext > slots/(l.SegmentLength*l.ImagesPerCiphertext):
		return nil, malformed("%d segments of %d slots do not fit in %d", l.SegmentsPerCiphertext, l.SegmentLength*l.ImagesPerCiphertext, slots)
	case len(l.Gather) < 1 || len(l.Gather) > l.Ciphertexts*l.SegmentsPerCiphertext:
		return nil, malformed("%d gather rows for %d segments", len(l.Gather), l.Ciphertexts*l.SegmentsPerCiphertext)
	}
	for _, row := range l.Gather {
		if len(row) > l.SegmentLength {
			return nil, malformed("a gather row of %d values exceeds the segment length %d", len(row), l.SegmentLength)
		}
		for _, idx := range row {
			if idx < -1 || int(idx) >= n {
				return nil, malformed("gather index %d outside [-1, %d)", idx, n)
			}
		}
	}
	return l, nil
}

// Fill lays the images out in input ciphertexts c, c+1, …, one per element of slots
// (see fill).
func (l *im2col) Fill(slots [][]float64, c int, images [][]float64) {
	for d, s := range slots {
		l.fill(s, c+d, images)
	}
}

// fill lays the images out in input ciphertext c: in segment s, the value of image i
// that term c·SegmentsPerCiphertext + s of first-layer output o reads goes to slot
// s·SegmentLength·k + o·k + i; the used segments repeat over the rest of the slots.
func (l *im2col) fill(slots []float64, c int, images [][]float64) {
	k := l.ImagesPerCiphertext
	stride := l.SegmentLength * k
	for s := 0; s < l.SegmentsPerCiphertext; s++ {
		t := c*l.SegmentsPerCiphertext + s
		if t >= len(l.Gather) {
			break
		}
		for o, idx := range l.Gather[t] {
			if idx >= 0 {
				for i, image := range images {
					slots[s*stride+o*k+i] = image[idx]
				}
			}
		}
	}
	repeat(slots, l.SegmentsPerCiphertext*stride)
}
