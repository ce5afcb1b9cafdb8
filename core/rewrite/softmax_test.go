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

func TestDropFinalNormalizers(t *testing.T) {
	g := newLayers()
	for _, last := range []model.Layer{model.LogSoftmax{}, model.NamedActivation{Func: "sigmoid"}, model.NamedActivation{Func: "tanh"}} {
		m := newModel(model.Shape{C: 6, H: 1, W: 1}, g.dense(6, 5), model.Square{}, g.dense(5, 4), last)
		got, note, err := dropFinalSoftmax(m)
		if err != nil {
			t.Fatal(err)
		}
		checkKinds(t, got, "dense square dense")
		if want := "drop-final-" + string(last.Kind()); note != want {
			t.Fatalf("note %q, want %q", note, want)
		}
		before, after := outputs(t, m, 20), outputs(t, got, 20)
		for i := range before {
			if model.Argmax(before[i]) != model.Argmax(after[i]) {
				t.Fatalf("%s, input %d: argmax changed", last.Kind(), i)
			}
		}
	}
	// A final ReLU is not increasing everywhere (ties at 0): it stays.
	m := newModel(model.Shape{C: 6, H: 1, W: 1}, g.dense(6, 4), model.NamedActivation{Func: "relu"})
	if got, note, err := dropFinalSoftmax(m); err != nil || note != "" || len(got.Layers) != 2 {
		t.Fatalf("final relu: %v, %q, %s", err, note, kindsOf(got))
	}
}
