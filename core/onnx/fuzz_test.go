package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

// FuzzImport checks that Import never panics, that it rejects with a classified
// error, that what it accepts is a valid model, and that converting it (the x²-only
// path, which needs no calibration) rejects or gives a model that lowers. Seeded with
// the fixture networks and one graph of every translated operator; testdata/fuzz
// holds the past crashers.
func FuzzImport(f *testing.F) {
	tg := newTestGraph(-1, 1, 6, 6)
	tg.param("w", []int64{2, 1, 3, 3}, tg.random(18))
	tg.param("f", []int64{3, 8}, tg.random(24))
	tg.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)
	tg.initInts("shape", 0, -1)
	tg.node("Conv", "conv", []string{"x", "w"}, "c", attrInts("strides", 2, 2))
	tg.node("Mul", "sq", []string{"c", "c"}, "s")
	tg.node("Pad", "pad", []string{"s", "pads"}, "p")
	tg.node("AveragePool", "pool", []string{"p"}, "a", attrInts("kernel_shape", 3, 3))
	tg.node("Reshape", "flat", []string{"a", "shape"}, "v")
	tg.node("Gemm", "fc", []string{"v", "f"}, "y", attrInt("transB", 1))
	tg.output("y")
	data, err := tg.marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	fixtures, _ := filepath.Glob(filepath.Join("..", "..", "models", "fixtures", "*.onnx"))
	for _, path := range fixtures {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte("\x3a\x02\x0a\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Import(data)
		if err != nil {
			if errs.ClassOf(err) == errs.ErrInternal || errors.Is(err, errs.ErrInternal) {
				t.Fatalf("an internal error: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Import returned an invalid model: %v", err)
		}
		converted, err := rewrite.Convert(m)
		if err != nil {
			if errs.ClassOf(err) == errs.ErrInternal || errors.Is(err, errs.ErrInternal) {
				t.Fatalf("converting: an internal error: %v", err)
			}
			return
		}
		if _, err := converted.Stages(); err != nil {
			t.Fatalf("a converted model does not lower: %v", err)
		}
	})
}
