package rewrite

import (
	"reflect"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

func mustMerge(t *testing.T, m *model.Model) *model.Model {
	t.Helper()
	var out *model.Model
	unchanged(t, m, func() {
		var err error
		if out, err = MergeLinear(m); err != nil {
			t.Fatal(err)
		}
	})
	return out
}

func TestMergeLinearCryptoNets(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 1, H: 12, W: 12}, g.conv(1, 3, 4, 2, 1), model.Square{}, pool(3, 1, 1),
		model.Flatten{}, g.dense(3*6*6, 8), model.Square{}, g.dense(8, 4))
	got := mustMerge(t, m)
	checkKinds(t, got, "conv2d square dense square dense")
	if d := got.Layers[2].(*model.Dense); d.In != 108 || d.Out != 8 {
		t.Fatalf("merged dense %d→%d, want 108→8", d.In, d.Out)
	}
	checkSameOutputs(t, m, got)
}

func TestMergeLinearLongRuns(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 2, H: 6, W: 5}, g.conv(2, 3, 3, 1, 1), g.conv(3, 2, 2, 2, 0), model.Flatten{},
		g.dense(2*3*2, 7), g.dense(7, 5), model.Square{}, g.dense(5, 3), g.dense(3, 2))
	got := mustMerge(t, m)
	checkKinds(t, got, "dense square dense")
	checkSameOutputs(t, m, got)
}

// TestMergeLinearKeepsSpatialRun: a run whose spatial output a later Conv2D needs is
// kept; one followed (after activations) by Flatten is merged.
func TestMergeLinearKeepsSpatialRun(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 1, H: 8, W: 8}, g.conv(1, 2, 3, 1, 0), pool(2, 2, 0), model.Square{},
		g.conv(2, 2, 2, 1, 0), model.Flatten{}, g.dense(8, 3))
	got := mustMerge(t, m)
	checkKinds(t, got, "conv2d sumpool square dense")
	checkSameOutputs(t, m, got)

	m = newModel(model.Shape{C: 1, H: 8, W: 8}, g.conv(1, 2, 3, 1, 0), pool(2, 2, 0), model.Square{},
		&model.Polynomial{Coeffs: []float64{0.1, 0.5, 0.25}}, model.Flatten{}, g.dense(18, 3))
	got = mustMerge(t, m)
	checkKinds(t, got, "dense square polynomial flatten dense")
	checkSameOutputs(t, m, got)

	// A 1×1 spatial output is the same as a flat one: the run merges.
	m = newModel(model.Shape{C: 1, H: 4, W: 4}, g.conv(1, 3, 4, 1, 0), g.conv(3, 2, 1, 1, 0), model.Square{},
		g.conv(2, 2, 1, 1, 0))
	got = mustMerge(t, m)
	checkKinds(t, got, "dense square conv2d")
	checkSameOutputs(t, m, got)
}

func TestMergeLinearNothingToDo(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 1, H: 6, W: 6}, g.conv(1, 2, 3, 1, 0), model.Square{}, model.Flatten{},
		g.dense(32, 4), model.Square{}, g.dense(4, 3), model.Softmax{})
	got := mustMerge(t, m)
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("layers changed: %s", kindsOf(got))
	}
	if got.Layers[0] == m.Layers[0] {
		t.Fatal("the result shares a layer with the input")
	}
}

func TestMergeLinearTooLargeIsKept(t *testing.T) {
	// Two 4097×4097 maps would merge into more than 2^24 weights.
	m := newModel(model.Shape{C: 4097, H: 1, W: 1}, pool(1, 1, 0), pool(1, 1, 0))
	checkKinds(t, mustMerge(t, m), "sumpool sumpool")
}

// TestMergeOnlyWhenCheaper: a LeNet-5-style pool before a dense layer and a
// convolution before a pool stay apart (merged, they would cost more multiply-adds);
// two dense layers merge when the product is smaller.
func TestMergeOnlyWhenCheaper(t *testing.T) {
	g := newLayers()
	lenet := newModel(model.Shape{C: 4, H: 8, W: 8}, g.conv(4, 6, 3, 1, 1), pool(2, 2, 0), model.Square{},
		pool(2, 2, 0), model.Flatten{}, g.dense(6*2*2, 5), model.Square{}, g.dense(5, 3))
	got, notes, err := mergeLinear(lenet)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Layers, lenet.Layers) || notes != nil {
		t.Fatalf("layers %s, notes %q; want them unchanged", kindsOf(got), notes)
	}
	narrow := newModel(model.Shape{C: 20, H: 1, W: 1}, g.dense(20, 2), g.dense(2, 20), model.Square{}, g.dense(20, 3))
	if got := mustMerge(t, narrow); kindsOf(got) != "dense dense square dense" {
		t.Fatalf("bottleneck merged: %s", kindsOf(got))
	}
	wide := newModel(model.Shape{C: 3, H: 1, W: 1}, g.dense(3, 30), g.dense(30, 2), model.Square{}, g.dense(2, 2))
	merged := mustMerge(t, wide)
	checkKinds(t, merged, "dense square dense")
	checkSameOutputs(t, wide, merged)
}
