package onnx

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

// shippedDir is the folder of the trained MNIST network, relative to this package.
var shippedDir = filepath.Join("..", "..", "models", "mnist")

// TestShippedMNISTModel imports the trained CryptoNets network, converts it and checks
// its logits on the first 16 MNIST test images against PyTorch's (float64).
func TestShippedMNISTModel(t *testing.T) {
	path := filepath.Join(shippedDir, "mnist_cryptonets.onnx")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s does not exist: run models/mnist/train.py to create it", path)
	}
	imported, err := ImportFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkKinds(t, imported, model.KindConv2D, model.KindSquare, model.KindSumPool, model.KindFlatten,
		model.KindDense, model.KindSquare, model.KindDense, model.KindSoftmax)
	converted, err := rewrite.Convert(imported)
	if err != nil {
		t.Fatal(err)
	}
	checkKinds(t, converted, model.KindConv2D, model.KindSquare, model.KindDense, model.KindSquare, model.KindDense)
	for i, want := range map[int][2]int{2: {845, 100}, 4: {100, 10}} {
		if d := converted.Layers[i].(*model.Dense); d.In != want[0] || d.Out != want[1] {
			t.Errorf("layer %d: dense %d→%d, want %d→%d", i, d.In, d.Out, want[0], want[1])
		}
	}
	t.Logf("rewrites: %q", converted.Provenance.Rewrites)

	want := readTorchLogits(t)
	test, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	refConverted, err := model.NewReference(converted)
	if err != nil {
		t.Fatal(err)
	}
	refImported, err := model.NewReference(imported)
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch saw the pixels rounded to float32 (byte/255 in float32): with the same
	// pixels the logits agree to rounding error, with exact pixels within 1e-4.
	worst, worst32, correct := 0.0, 0.0, 0
	for i, logits := range want.Logits {
		if test.Labels[i] != want.Labels[i] {
			t.Fatalf("image %d: MNIST label %d, the JSON says %d", i, test.Labels[i], want.Labels[i])
		}
		got := forward(t, refConverted, test.Records[i])
		got32 := forward(t, refConverted, roundToFloat32(test.Records[i]))
		for k := range got {
			worst = math.Max(worst, math.Abs(got[k]-logits[k]))
			worst32 = math.Max(worst32, math.Abs(got32[k]-logits[k]))
		}
		if probs := forward(t, refImported, test.Records[i]); model.Argmax(probs) != model.Argmax(got) {
			t.Errorf("image %d: argmax %d with softmax, %d without", i, model.Argmax(probs), model.Argmax(got))
		}
		if model.Argmax(got) == want.Labels[i] {
			correct++
		}
	}
	if worst > 1e-4 || worst32 > 1e-9 {
		t.Errorf("largest logit difference from PyTorch %.3g (want ≤ 1e-4), %.3g with float32 pixels (want ≤ 1e-9)", worst, worst32)
	}
	t.Logf("16 images: largest logit difference from PyTorch %.3g (%.3g with float32 pixels); %d/16 classified correctly",
		worst, worst32, correct)
}

func forward(t *testing.T, r *model.Reference, x []float64) []float64 {
	t.Helper()
	y, err := r.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func roundToFloat32(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(float32(v))
	}
	return y
}

// torchLogits is models/mnist/test_logits_first16.json.
type torchLogits struct {
	Labels []int       `json:"labels"`
	Logits [][]float64 `json:"logits"`
}

func readTorchLogits(t *testing.T) *torchLogits {
	t.Helper()
	return readTorchLogitsFrom(t, shippedDir)
}

// readTorchLogitsFrom reads a model folder's test_logits_first16.json.
func readTorchLogitsFrom(t *testing.T, dir string) *torchLogits {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "test_logits_first16.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v torchLogits
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Labels) != 16 || len(v.Logits) != 16 {
		t.Fatalf("%d labels and %d logit vectors, want 16", len(v.Labels), len(v.Logits))
	}
	for i, l := range v.Logits {
		if len(l) != 10 {
			t.Fatalf("image %d: %d logits, want 10", i, len(l))
		}
	}
	return &v
}

// TestReLUModelMatchesTorch compares the imported ReLU network of models/mnist_relu
// with PyTorch's float64 logits of the first 16 test images (same float32 weights,
// same float64 pixels).
func TestReLUModelMatchesTorch(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "mnist_relu")
	m, err := ImportFile(filepath.Join(dir, "mnist_relu.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want := readTorchLogitsFrom(t, dir)
	test, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, logits := range want.Logits {
		got := forward(t, ref, test.Records[i])
		for k := range logits {
			worst = math.Max(worst, math.Abs(got[k]-logits[k]))
		}
	}
	t.Logf("largest difference from PyTorch on 16 images: %.3g", worst)
	if worst > 1e-6 {
		t.Fatalf("largest difference %.3g, want ≤ 1e-6", worst)
	}
}
