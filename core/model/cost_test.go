package model

import (
	"errors"
	"runtime"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/cbor"
	"github.com/cryptonets/cryptonets/core/internal/hostile"
)

// bigPool is hole 6 of issue 12: a sum pool with a 96 × 96 window, padded to keep the
// 96 × 96 image size, lowers to side^4 ≈ 48 million terms (1.2 GB in Stages) from a
// model file of under 300 bytes.
func bigPool() *Model {
	return &Model{Name: "pool", Input: Shape{C: 1, H: 96, W: 96}, InputRange: [2]float64{0, 1},
		Layers: []Layer{
			&SumPool{KernelH: 96, KernelW: 96, StrideH: 1, StrideW: 1, Pad: Padding{Top: 48, Left: 48, Bottom: 47, Right: 47}, Scale: 1},
			Flatten{},
		}}
}

func TestLoweringCostIsBoundedBeforeAllocation(t *testing.T) {
	m := bigPool()
	rec := fileRecord{Magic: fileMagic, Version: FileVersion, Name: m.Name, Input: m.Input, InputRange: m.InputRange}
	for _, l := range m.Layers {
		rec.Layers = append(rec.Layers, toRecord(l))
	}
	data, err := cbor.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 300 {
		t.Fatalf("the file is %d bytes", len(data))
	}
	hostile.Check(t, "sumpool_96.cnm", data)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var read Model
	errRead := read.UnmarshalBinary(data)
	_, errStages := m.Stages()
	_, errRef := NewReference(m)
	runtime.ReadMemStats(&after)
	for name, err := range map[string]error{"read": errRead, "stages": errStages, "reference": errRef} {
		if !errors.Is(err, errs.ErrLimit) {
			t.Errorf("%s: %v, want a limit error", name, err)
		}
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("rejecting the model allocated %d bytes", grew)
	}
	// The count is exact: a pool the limit admits lowers to that many terms.
	small := &Model{Input: Shape{C: 2, H: 9, W: 7}, InputRange: [2]float64{0, 1}, Layers: []Layer{
		&SumPool{KernelH: 3, KernelW: 4, StrideH: 2, StrideW: 1, Pad: Padding{Top: 1, Left: 2, Bottom: 0, Right: 1}, Scale: 0.5},
		&Conv2D{InChannels: 2, OutChannels: 3, KernelH: 2, KernelW: 2, StrideH: 1, StrideW: 2, Pad: Padding{Top: 1, Right: 1},
			Weights: filled(24, 0.1), Bias: filled(3, 0)},
	}}
	stages, err := small.Stages()
	if err != nil {
		t.Fatal(err)
	}
	shapes, _ := small.Shapes()
	for i, st := range stages {
		terms := 0
		for _, row := range st.Affine.Rows {
			terms += len(row)
		}
		if got, want := loweringCost(small.Layers[i], shapes[i], shapes[i+1]), int64(terms+st.Affine.Out()); got != want {
			t.Errorf("layer %d: cost %d, lowered to %d terms and values", i, got, want)
		}
	}
}

func filled(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
