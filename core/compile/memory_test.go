package compile_test

import (
	"context"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

// TestMemoryEstimates checks each packing's memory estimate (what a server budgets
// before it admits a request) against what evaluations really take: with the
// garbage collector off, everything an evaluation allocates (decoding the sealed
// upload included) must fit in Memory().Evaluation, and what a plan still holds
// after an evaluation, once collected, in Memory().Resident + Kept. The shipped model under
// both packings (single at 128 bits, one and eight images per request), and the
// deep fixture of three fitted polynomials.
//
//	go test -run MemoryEstimates -v ./core/compile
func TestMemoryEstimates(t *testing.T) {
	shipped, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	test, err := dataset.MNIST(dataset.MNISTTest, 8192)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		m    *model.Model
		opts compile.Options
	}{
		{"batch", shipped, compile.Options{Packing: batch.Name, Params: params.InsecureN11.Name, AllowInsecure: true}},
		{"single", shipped, compile.Options{Packing: single.Name}},
		{"single x8", shipped, compile.Options{Packing: single.Name, Tuning: packing.Options{ImagesPerRequest: 8}}},
		{"deep single x8", convertFixture(t, "activations"), fixtureOptions("activations")},
		// Relinearizing batch plans: three stacked polynomials, and the fine-tuned
		// LeNet-5 (segments in chunks, monitors, relinearizations at three levels).
		{"deep batch", convertFixture(t, "activations"), deepBatch},
		{"lenet5 batch", convertLenet5(t), deepBatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := heapAfterGC()
			p, err := compile.Compile(tc.m, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			est := p.Memory()
			allocated := allocatedByEvaluation(t, p, test.Records)
			held := heapAfterGC() - before
			runtime.KeepAlive(p)
			t.Logf("evaluation: %.1f MiB allocated, %.1f MiB estimated; plan: %.1f MiB held, %.1f MiB estimated",
				mib(allocated), mib(est.Evaluation), mib(held), mib(est.Resident+est.Kept))
			if allocated > est.Evaluation {
				t.Errorf("an evaluation allocated %d bytes, more than the estimated %d", allocated, est.Evaluation)
			}
			if held > est.Resident+est.Kept {
				t.Errorf("the plan holds %d bytes after an evaluation, more than the estimated %d", held, est.Resident+est.Kept)
			}
		})
	}
}

// deepBatch compiles for batch packing with relinearization, at an insecure preset.
var deepBatch = compile.Options{Packing: batch.Name, Params: params.InsecureN12R.Name, AllowInsecure: true}

// convertLenet5 converts the shipped fine-tuned LeNet-5 as cryptonets convert does
// (calibrated on the first 1,000 MNIST training images).
func convertLenet5(t *testing.T) *model.Model {
	t.Helper()
	imported, err := onnx.ImportFile(filepath.Join("..", "..", "models", "lenet5", "lenet5_he.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := dataset.MNIST(dataset.MNISTTrain, fixtureCalibration)
	if err != nil {
		t.Fatal(err)
	}
	converted, err := rewrite.ConvertWith(imported, rewrite.Options{Calibration: cal.Records})
	if err != nil {
		t.Fatal(err)
	}
	return converted
}

// allocatedByEvaluation returns the bytes one PredictBytes call allocates (the
// garbage collector off) on a full request of images under p.
func allocatedByEvaluation(t *testing.T, p compile.Plan, images [][]float64) int64 {
	t.Helper()
	man := p.Manifest()
	c, srv := clientAndServer(t, p)
	upload, _, err := c.EncryptBytes(images[:min(man.ImagesPerBatch, len(images))], nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := srv.PredictBytes(context.Background(), upload, nil); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

func heapAfterGC() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
