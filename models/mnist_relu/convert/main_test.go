package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

// TestImportMatchesTorch compares the imported network with PyTorch's float64 logits
// of the first 16 test images (same float32 weights, same float64 pixels).
func TestImportMatchesTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	m, err := onnx.ImportFile(filepath.Join("..", "mnist_relu.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "test_logits_first16.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Labels []int       `json:"labels"`
		Logits [][]float64 `json:"logits"`
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	test, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, logits := range want.Logits {
		got, err := ref.Forward(test.Images[i])
		if err != nil {
			t.Fatal(err)
		}
		for k := range logits {
			worst = math.Max(worst, math.Abs(got[k]-logits[k]))
		}
	}
	t.Logf("largest difference from PyTorch on %d images: %.3g", len(want.Logits), worst)
	if len(want.Logits) != 16 || worst > 1e-6 {
		t.Fatalf("%d images, largest difference %.3g (want 16, ≤ 1e-6)", len(want.Logits), worst)
	}
}

// TestCommittedModel checks that mnist_relu.cnm is what the conversion of
// mnist_relu.onnx gives today (within rounding), and that it is ready to compile.
func TestCommittedModel(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	dir := filepath.Join("..")
	committed, err := model.Load(filepath.Join(dir, "mnist_relu.cnm"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := make([]string, len(committed.Layers))
	for i, l := range committed.Layers {
		kinds[i] = string(l.Kind())
	}
	if got := strings.Join(kinds, " "); got != "conv2d polynomial flatten dense polynomial dense" {
		t.Fatalf("layers %q", got)
	}
	if _, err := committed.Stages(); err != nil {
		t.Fatal(err)
	}
	_, fresh, err := convert(filepath.Join(dir, "mnist_relu.onnx"), 1000, rewrite.ApproxOptions{Degree: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh.Layers) != len(committed.Layers) {
		t.Fatalf("fresh conversion has %d layers", len(fresh.Layers))
	}
	for i := range fresh.Layers {
		a, b := numbers(fresh.Layers[i]), numbers(committed.Layers[i])
		if len(a) != len(b) {
			t.Fatalf("layer %d: %d numbers, the committed file has %d", i, len(a), len(b))
		}
		for k := range a {
			if math.Abs(a[k]-b[k]) > 1e-9*math.Max(1, math.Abs(b[k])) {
				t.Fatalf("layer %d, number %d: %.17g, the committed file has %.17g: run go run ./models/mnist_relu/convert",
					i, k, a[k], b[k])
			}
		}
		if p, ok := committed.Layers[i].(*model.Polynomial); ok {
			if len(p.Coeffs) != 3 || p.Fitted != "relu" {
				t.Errorf("layer %d: degree %d fitting %q", i, len(p.Coeffs)-1, p.Fitted)
			}
			t.Logf("layer %d: relu ≈ %.6g + %.6g·x + %.6g·x² on [%.4f, %.4f], max error %.4f",
				i, p.Coeffs[0], p.Coeffs[1], p.Coeffs[2], p.Interval[0], p.Interval[1], p.FitError)
		}
	}
}

// numbers lists the parameters of a layer.
func numbers(l model.Layer) []float64 {
	switch l := l.(type) {
	case *model.Conv2D:
		return append(append([]float64(nil), l.Weights...), l.Bias...)
	case *model.Dense:
		return append(append([]float64(nil), l.Weights...), l.Bias...)
	case *model.Polynomial:
		return append(append([]float64(nil), l.Coeffs...), l.Interval[0], l.Interval[1], l.FitError)
	}
	return nil
}
