package rewrite

import (
	"reflect"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

func TestDropFinalSoftmax(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 6, H: 1, W: 1}, g.dense(6, 5), model.Square{}, g.dense(5, 4), model.Softmax{})
	var got *model.Model
	unchanged(t, m, func() {
		var err error
		if got, err = DropFinalSoftmax(m); err != nil {
			t.Fatal(err)
		}
	})
	checkKinds(t, got, "dense square dense")
	probs, logits := outputs(t, m, 20), outputs(t, got, 20)
	for i := range probs {
		if model.Argmax(probs[i]) != model.Argmax(logits[i]) {
			t.Fatalf("input %d: argmax %d with softmax, %d without", i, model.Argmax(probs[i]), model.Argmax(logits[i]))
		}
	}
	again, err := DropFinalSoftmax(got)
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("without a final softmax: %v, layers %s", err, kindsOf(again))
	}
	if _, err := DropFinalSoftmax(newModel(model.Shape{C: 3, H: 1, W: 1}, model.Softmax{})); err == nil {
		t.Fatal("dropping the only layer: no error")
	}
}
