package rewrite

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

func TestConvert(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 1, H: 12, W: 12}, g.conv(1, 3, 4, 2, 1), model.Square{}, pool(3, 1, 1),
		model.Flatten{}, g.dense(108, 8), model.Square{}, g.dense(8, 4), model.Softmax{})
	var got *model.Model
	unchanged(t, m, func() {
		var err error
		if got, err = Convert(m); err != nil {
			t.Fatal(err)
		}
	})
	checkKinds(t, got, "conv2d square dense square dense")
	want := []string{"earlier", "drop-final-softmax", "merge-linear: layers 2-4 (sumpool, flatten, dense) → dense 108→8"}
	if !reflect.DeepEqual(got.Provenance.Rewrites, want) {
		t.Fatalf("rewrites %q, want %q", got.Provenance.Rewrites, want)
	}
	noSoftmax, err := DropFinalSoftmax(m)
	if err != nil {
		t.Fatal(err)
	}
	checkSameOutputs(t, noSoftmax, got)

	inner := newModel(model.Shape{C: 4, H: 1, W: 1}, g.dense(4, 4), model.Softmax{}, g.dense(4, 2))
	if _, err := Convert(inner); err == nil || !strings.Contains(err.Error(), "layer 1 is a softmax") {
		t.Fatalf("softmax inside the network: error %v", err)
	}
	if _, err := Convert(newModel(model.Shape{C: 4, H: 1, W: 1}, g.dense(3, 2))); err == nil {
		t.Fatal("invalid model: no error")
	}
}
