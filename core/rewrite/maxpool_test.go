package rewrite

import (
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

func TestMaxPoolToSumPool(t *testing.T) {
	g := newLayers()
	mp := &model.MaxPool{KernelH: 3, KernelW: 2, StrideH: 2, StrideW: 1, Pad: model.Padding{Top: 1, Right: 1}}
	m := newModel(model.Shape{C: 1, H: 7, W: 6}, g.conv(1, 2, 3, 1, 1), mp, model.Square{}, model.Flatten{}, g.dense(2*3*6, 3))
	var got *model.Model
	var notes []string
	unchanged(t, m, func() {
		var err error
		if got, notes, err = maxPoolToSumPool(m); err != nil {
			t.Fatal(err)
		}
	})
	checkKinds(t, got, "conv2d sumpool square flatten dense")
	want := model.SumPool{KernelH: 3, KernelW: 2, StrideH: 2, StrideW: 1, Pad: mp.Pad, Scale: 1.0 / 6}
	if sp := got.Layers[1].(*model.SumPool); *sp != want {
		t.Fatalf("sum pool %+v, want %+v", *sp, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "maxpool-to-sumpool: layer 1 (3×2 max → mean") {
		t.Fatalf("notes %q", notes)
	}
	// The same network with the mean pool written directly.
	direct := newModel(m.Input, m.Layers[0], &want, model.Square{}, model.Flatten{}, m.Layers[4])
	checkSameOutputs(t, direct, got)
	if _, err := got.Stages(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stages(); err == nil {
		t.Fatal("Stages accepts max pooling")
	}
}
