package onnx

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

// fixturesDir holds the networks made by models/fixtures/make_fixtures.py.
var fixturesDir = filepath.Join("..", "..", "models", "fixtures")

// Tolerances of the fixture tests.
//
// The ONNX files store float32 weights and PyTorch computed the expected outputs in
// float64 from those same weights (widened exactly) and from the same float64 pixels,
// so the imported network differs from PyTorch by float64 rounding only, plus the
// float32 constants of the graph (BatchNormalization's epsilon, GELU's √2), ~1e-8
// relative: importTolerance leaves ample room. The exact rewrites (dropping a final
// normalizer, folding batch normalization, merging linear layers) only reassociate
// float64 sums: exactTolerance, relative to the value.
const (
	importTolerance = 1e-6
	exactTolerance  = 1e-9
	// minAgreement is the least fraction of the 32 images on which a converted
	// network whose conversion approximates (max pool → mean pool, polynomial
	// activations) must agree with PyTorch's argmax.
	minAgreement = 0.9
	// calibrationImages is the number of training images the activations are
	// calibrated on.
	calibrationImages = 200
)

// fixture describes one network of models/fixtures.
type fixture struct {
	name                string
	imported, converted string // layer kinds
	// approximate is set when the conversion changes the function.
	approximate bool
	// degree of the polynomial activations (0: the default, 2). Three stacked smooth
	// activations need degree 6 to agree on 90% of the images (degree 2: 24/32).
	degree int
}

var fixtures = []fixture{
	{name: "batchnorm",
		imported:  "conv2d channel_affine square flatten dense channel_affine square dense",
		converted: "conv2d square flatten dense square dense"},
	{name: "avgpool_pad",
		imported:  "conv2d square sumpool flatten dense softmax",
		converted: "conv2d square sumpool flatten dense"},
	{name: "maxpool", approximate: true,
		imported:  "conv2d square maxpool flatten dense",
		converted: "conv2d square sumpool flatten dense"},
	{name: "relu_mlp", approximate: true,
		imported:  "flatten dense relu dense",
		converted: "flatten dense polynomial dense"},
	{name: "sigmoid_out",
		imported:  "flatten dense square dense sigmoid",
		converted: "flatten dense square dense"},
	{name: "cryptonets",
		imported:  "conv2d square sumpool flatten dense square dense softmax",
		converted: "conv2d square dense square dense"},
	{name: "activations", approximate: true, degree: 6,
		imported:  "flatten dense gelu dense silu dense tanh dense logsoftmax",
		converted: "flatten dense polynomial dense polynomial dense polynomial dense"},
}

// fixtureRecord is NAME.json.
type fixtureRecord struct {
	Labels  []int       `json:"labels"`
	Outputs [][]float64 `json:"outputs"`
	Logits  [][]float64 `json:"logits"`
}

// TestFixtures imports every fixture network, compares it with PyTorch, converts it
// and compares the converted network with PyTorch and with the imported one.
func TestFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	test, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	calibration := trainingImages(t, calibrationImages)
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.check(t, test, calibration) })
	}
}

func (f fixture) check(t *testing.T, test *dataset.Set, calibration [][]float64) {
	imported, err := ImportFile(filepath.Join(fixturesDir, f.name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if got := layerKinds(imported); got != f.imported {
		t.Fatalf("imported layers %q, want %q", got, f.imported)
	}
	rec := readFixture(t, f.name)
	images := test.Records[:len(rec.Labels)]
	for i, l := range rec.Labels {
		if test.Labels[i] != l {
			t.Fatalf("image %d: label %d, the JSON says %d", i, test.Labels[i], l)
		}
	}
	got := forwardAll(t, imported, images)
	t.Logf("imported vs torch: largest difference %.3g (tolerance %g)", worstDiff(got, rec.Outputs, false), importTolerance)
	if d := worstDiff(got, rec.Outputs, false); d > importTolerance {
		t.Errorf("imported network differs from torch by %.3g > %g", d, importTolerance)
	}

	// The conversions that approximate may miss the default budget on these small
	// networks: this test checks them against PyTorch, not against the budget.
	converted, err := rewrite.ConvertWith(imported, rewrite.Options{Calibration: calibration,
		ApproxOptions: rewrite.ApproxOptions{Degree: f.degree}, Budget: rewrite.Budget{Exceed: f.approximate}})
	if err != nil {
		t.Fatal(err)
	}
	if got := layerKinds(converted); got != f.converted {
		t.Fatalf("converted layers %q, want %q", got, f.converted)
	}
	for _, r := range converted.Provenance.Rewrites {
		t.Logf("rewrite: %s", r)
	}
	logits := forwardAll(t, converted, images)
	if !f.approximate {
		dropped, err := rewrite.DropFinalSoftmax(imported)
		if err != nil {
			t.Fatal(err)
		}
		want := forwardAll(t, dropped, images)
		d, dt := worstDiff(logits, want, true), worstDiff(logits, rec.Logits, false)
		t.Logf("converted vs imported: largest relative difference %.3g; vs torch logits %.3g", d, dt)
		if d > exactTolerance || dt > importTolerance {
			t.Errorf("converted network differs from the imported one by %.3g (relative; want ≤ %g), from torch by %.3g",
				d, exactTolerance, dt)
		}
		return
	}
	agree, correct, correctTorch := 0, 0, 0
	for i := range logits {
		if model.Argmax(logits[i]) == model.Argmax(rec.Logits[i]) {
			agree++
		}
		if model.Argmax(logits[i]) == rec.Labels[i] {
			correct++
		}
		if model.Argmax(rec.Logits[i]) == rec.Labels[i] {
			correctTorch++
		}
	}
	t.Logf("converted: argmax agrees with torch on %d/%d images; %d correct (torch %d)",
		agree, len(logits), correct, correctTorch)
	if float64(agree) < minAgreement*float64(len(logits)) {
		t.Errorf("argmax agrees on %d/%d images, want ≥ %.0f%%", agree, len(logits), 100*minAgreement)
	}
	for i, l := range converted.Layers {
		if p, ok := l.(*model.Polynomial); ok {
			t.Logf("layer %d: %s ≈ degree-%d polynomial on [%.4g, %.4g], fit error %.3g",
				i, p.Fitted, len(p.Coeffs)-1, p.Interval[0], p.Interval[1], p.FitError)
			if math.IsNaN(p.FitError) || math.IsInf(p.FitError, 0) || p.FitError <= 0 {
				t.Errorf("layer %d: fit error %g", i, p.FitError)
			}
		}
	}
}

// trainingImages returns the first n MNIST training images.
func trainingImages(t *testing.T, n int) [][]float64 {
	t.Helper()
	set, err := dataset.MNIST(dataset.MNISTTrain, n)
	if err != nil {
		t.Fatal(err)
	}
	return set.Records
}

func readFixture(t *testing.T, name string) *fixtureRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixturesDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec fixtureRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Labels) == 0 || len(rec.Outputs) != len(rec.Labels) || len(rec.Logits) != len(rec.Labels) {
		t.Fatalf("%s.json: %d labels, %d outputs, %d logits", name, len(rec.Labels), len(rec.Outputs), len(rec.Logits))
	}
	return &rec
}

func forwardAll(t *testing.T, m *model.Model, images [][]float64) [][]float64 {
	t.Helper()
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, len(images))
	for i, x := range images {
		out[i] = forward(t, ref, x)
	}
	return out
}

// worstDiff returns the largest |a − b|, relative to max(1, |b|) if relative.
func worstDiff(a, b [][]float64, relative bool) float64 {
	worst := 0.0
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return math.Inf(1)
		}
		for k := range a[i] {
			d := math.Abs(a[i][k] - b[i][k])
			if relative {
				d /= math.Max(1, math.Abs(b[i][k]))
			}
			worst = math.Max(worst, d)
		}
	}
	return worst
}

func layerKinds(m *model.Model) string {
	s := make([]string, len(m.Layers))
	for i, l := range m.Layers {
		s[i] = string(l.Kind())
	}
	return strings.Join(s, " ")
}
