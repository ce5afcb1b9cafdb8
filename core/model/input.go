package model

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
)

// InputSpec is what a model records about the inputs it takes: their shape and the
// range their values must lie in (the compiler plans CKKS scales from it). Any
// preprocessing a model records belongs here, applied by Prepare: clients call it on
// the records they encrypt, and plaintext evaluation on the records it evaluates, so
// that both see the same inputs.
type InputSpec struct {
	Shape Shape
	Range [2]float64
	// ChannelRanges, when set, bound each channel on its own (inside Range).
	ChannelRanges [][2]float64
}

// InputSpec returns what m records about its inputs.
func (m *Model) InputSpec() InputSpec {
	return InputSpec{Shape: m.Input, Range: m.InputRange, ChannelRanges: m.ChannelRanges}
}

// Prepare applies the preprocessing that s records to records and checks them: each
// must have Shape.Size() values (channel-major), each inside Range and inside its
// channel's range when s has ChannelRanges. name names
// record i in errors (nil: "record i"). It returns the records as the model takes
// them: today the records themselves, unchanged.
func (s InputSpec) Prepare(records [][]float64, name func(i int) string) ([][]float64, error) {
	if name == nil {
		name = func(i int) string { return fmt.Sprintf("record %d", i) }
	}
	size := s.Shape.Size()
	// The values are checked a plane (a channel) at a time, against its range.
	plane, ranges := size, [][2]float64{s.Range}
	if len(s.ChannelRanges) == s.Shape.C {
		plane, ranges = s.Shape.H*s.Shape.W, s.ChannelRanges
	}
	// In order, on one core, stopping at the first bad record: a C caller's records
	// are views of its buffer, and when it claims more records than the buffer holds
	// (the C ABI's misuse test does), reading stops just past its end instead of
	// reaching far beyond it from several places at once.
	for i, r := range records {
		if len(r) != size {
			return nil, errs.New(errs.ErrInvalidArgument, "%s has %d values, the model takes %d (%v)", name(i), len(r), size, s.Shape)
		}
		for c := 0; c*plane < size; c++ {
			rng := ranges[c]
			for k, v := range r[c*plane : (c+1)*plane] {
				if !(v >= rng[0] && v <= rng[1]) {
					what := "the model's input range"
					if len(s.ChannelRanges) == s.Shape.C {
						what = fmt.Sprintf("the range of channel %d", c)
					}
					return nil, errs.New(errs.ErrInvalidArgument, "%s: %s is %g, outside %s [%g, %g]",
						name(i), s.position(c*plane+k), v, what, rng[0], rng[1])
				}
			}
		}
	}
	return records, nil
}

// position names value k of a record of shape s: a value of a vector or a signal, a
// pixel of an image.
func (s InputSpec) position(k int) string {
	c, y, x := k/(s.Shape.H*s.Shape.W), k/s.Shape.W%s.Shape.H, k%s.Shape.W
	switch {
	case s.Shape.H == 1 && s.Shape.W == 1, s.Shape.H == 1 && s.Shape.C == 1:
		return fmt.Sprintf("value %d", k)
	case s.Shape.H == 1:
		return fmt.Sprintf("channel %d, value %d", c, x)
	case s.Shape.C == 1:
		return fmt.Sprintf("pixel (x %d, y %d)", x, y)
	}
	return fmt.Sprintf("channel %d, pixel (x %d, y %d)", c, x, y)
}

// Predict evaluates m in float64 on records prepared as a client prepares what it
// encrypts (InputSpec.Prepare), on all cores, and returns their logits: a check of a
// model on one's own data before any key exists. name names record i in errors (nil:
// "record i").
func (m *Model) Predict(records [][]float64, name func(i int) string) ([][]float64, error) {
	prepared, err := m.InputSpec().Prepare(records, name)
	if err != nil {
		return nil, err
	}
	ref, err := NewReference(m)
	if err != nil {
		return nil, err
	}
	return ref.ForwardAll(prepared)
}
