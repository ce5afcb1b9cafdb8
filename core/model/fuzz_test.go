package model

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
)

// FuzzModelFile decodes model files (seeded with the shipped ones and one of every
// layer kind; testdata/fuzz holds the past crashers): a file is rejected with a
// classified error or is a valid model that lowers within the cost bound, evaluates
// in plaintext and re-encodes to a file that decodes to the same.
func FuzzModelFile(f *testing.F) {
	for _, name := range []string{"mnist/mnist_cryptonets.cnm", "mnist_relu/mnist_relu.cnm"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "models", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	every := &Model{Name: "every layer", Input: Shape{C: 2, H: 5, W: 5}, InputRange: [2]float64{0, 1}, Layers: []Layer{
		&Conv2D{InChannels: 2, OutChannels: 2, KernelH: 2, KernelW: 2, StrideH: 1, StrideW: 1, Pad: Padding{Top: 1}, Weights: filled(16, 0.1), Bias: filled(2, 0)},
		&ChannelAffine{Scale: []float64{1, 2}, Shift: []float64{0, 1}},
		Square{},
		&MaxPool{KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2},
		&SumPool{KernelH: 1, KernelW: 2, StrideH: 1, StrideW: 1, Scale: 0.5},
		NamedActivation{Func: "relu"},
		Flatten{},
		&Dense{In: 4, Out: 3, Weights: filled(12, 0.2), Bias: filled(3, 0.1)},
		&Polynomial{Coeffs: []float64{0, 1, 0.5}, Interval: [2]float64{-1, 1}},
		Softmax{},
	}}
	data, err := every.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Model
		if err := m.UnmarshalBinary(data); err != nil {
			if errs.ClassOf(err) == errs.ErrInternal || errors.Is(err, errs.ErrInternal) {
				t.Fatalf("an internal error: %v", err)
			}
			return
		}
		if cost, err := m.LoweringCost(); err != nil || cost > MaxLoweringCost {
			t.Fatalf("an accepted model costs %d to lower (%v)", cost, err)
		}
		ref, err := NewReference(&m)
		if err != nil {
			t.Fatalf("an accepted model does not lower: %v", err)
		}
		if _, err := ref.Forward(make([]float64, m.Input.Size())); err != nil {
			t.Fatal(err)
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("an accepted model does not encode: %v", err)
		}
		var back Model
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("a re-encoded model does not decode: %v", err)
		}
	})
}
