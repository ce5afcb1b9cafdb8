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
	want := []string{"earlier", "drop-final-softmax",
		"merge-linear: layers 2-4 (sumpool, flatten, dense) → dense 108→8: 864 multiply-adds instead of 1632"}
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

func TestConvertWith(t *testing.T) {
	g := newLayers()
	mp := &model.MaxPool{KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2}
	m := newModel(model.Shape{C: 1, H: 8, W: 8}, g.conv(1, 3, 3, 1, 1), g.channelAffine(3), model.NamedActivation{Func: "relu"},
		mp, model.Flatten{}, g.dense(48, 6), g.channelAffine(6), model.Square{}, g.dense(6, 4),
		model.NamedActivation{Func: "sigmoid"})
	if _, err := Convert(m); err == nil ||
		!strings.Contains(err.Error(), "layer 1 is a relu activation, which has no encrypted form: give calibration images") {
		t.Fatalf("without calibration: %v", err)
	}
	xs := calibration(30, 64)
	var got *model.Model
	unchanged(t, m, func() {
		var err error
		if got, err = ConvertWith(m, Options{Calibration: xs, ApproxOptions: ApproxOptions{Degree: 2}, Budget: Budget{Exceed: true}}); err != nil {
			t.Fatal(err)
		}
	})
	// The pool stays apart from the dense layer: merged, it would cost 1,152
	// multiply-adds instead of 192 + 288.
	checkKinds(t, got, "conv2d polynomial sumpool flatten dense square dense")
	rw := got.Provenance.Rewrites
	prefixes := []string{"earlier", "drop-final-sigmoid", "fold-batchnorm: layer 1", "fold-batchnorm: layer 6",
		"maxpool-to-sumpool: layer 2", "approximate-activations: layer 1 relu → degree-2"}
	if len(rw) != len(prefixes) {
		t.Fatalf("rewrites %q", rw)
	}
	for i, p := range prefixes {
		if !strings.HasPrefix(rw[i], p) {
			t.Fatalf("rewrite %d: %q, want prefix %q", i, rw[i], p)
		}
	}
	// The same steps one by one give the same network.
	steps, err := DropFinalSoftmax(m)
	for _, f := range []func(*model.Model) (*model.Model, error){FoldBatchNorm, MaxPoolToSumPool,
		func(m *model.Model) (*model.Model, error) { return ApproximateActivations(m, xs, ApproxOptions{}) }, MergeLinear} {
		if err != nil {
			t.Fatal(err)
		}
		steps, err = f(steps)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkSameOutputs(t, steps, got)
	if _, err := got.Stages(); err != nil {
		t.Fatal(err)
	}

	inner := newModel(model.Shape{C: 4, H: 1, W: 1}, g.dense(4, 4), model.LogSoftmax{}, g.dense(4, 2))
	if _, err := Convert(inner); err == nil || !strings.Contains(err.Error(), "layer 1 is a logsoftmax that is not the last layer") {
		t.Fatalf("log-softmax inside the network: error %v", err)
	}
}

func TestNeedsCalibration(t *testing.T) {
	g := newLayers()
	in := model.Shape{C: 4, H: 1, W: 1}
	relu, sigmoid := model.NamedActivation{Func: "relu"}, model.NamedActivation{Func: "sigmoid"}
	for _, c := range []struct {
		name   string
		layers []model.Layer
		want   bool
	}{
		{"squares only", []model.Layer{g.dense(4, 4), model.Square{}, g.dense(4, 2), model.Softmax{}}, false},
		{"final sigmoid", []model.Layer{g.dense(4, 4), model.Square{}, g.dense(4, 2), sigmoid}, false},
		{"relu", []model.Layer{g.dense(4, 4), relu, g.dense(4, 2)}, true},
		{"inner sigmoid", []model.Layer{g.dense(4, 4), sigmoid, g.dense(4, 2), model.LogSoftmax{}}, true},
		{"no layers", nil, false},
	} {
		m := newModel(in, c.layers...)
		if got := NeedsCalibration(m); got != c.want {
			t.Errorf("%s: NeedsCalibration = %v, want %v", c.name, got, c.want)
		}
		if len(c.layers) == 0 {
			continue
		}
		// It agrees with ConvertWith, which fails without calibration exactly then.
		if _, err := Convert(m); (err != nil) != c.want {
			t.Errorf("%s: Convert without calibration: %v", c.name, err)
		}
	}
}
