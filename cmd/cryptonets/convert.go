package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

// convertReport is the output of convert.
type convertReport struct {
	Source    string     `json:"source"`
	Output    string     `json:"output"`
	FileBytes int64      `json:"file_bytes"`
	Rewrites  []string   `json:"rewrites"`
	Before    *modelInfo `json:"before"`
	After     *modelInfo `json:"after"`
	// Accuracy is set with --test-images.
	Accuracy *convertAccuracy `json:"accuracy,omitempty"`
}

// convertAccuracy compares the plaintext networks before and after conversion.
type convertAccuracy struct {
	Images int     `json:"images"`
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// Agreement is the fraction of images whose argmax is the same before and after.
	Agreement float64 `json:"agreement"`
}

// runConvert is the convert command.
func runConvert(c *cli, args []string) error {
	fs := c.flags("MODEL.onnx [-o MODEL.cnm] [--test-images N] [--json]", `
Imports an ONNX network, converts it for encrypted evaluation (drops the final
softmax, merges adjacent linear layers) and saves the converted model file. Prints
the layers before and after, the multiplicative depth, and with --test-images the
plaintext accuracy before and after on the first N MNIST test images.`)
	dst := fs.String("o", "", "converted model file to write (default: MODEL.cnm next to MODEL.onnx)")
	testImages := fs.Int("test-images", 0, "check plaintext accuracy on the first `N` MNIST test images (0: skip)")
	out := outputFlags(fs)
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	src := pos[0]
	if *dst == "" {
		*dst = strings.TrimSuffix(src, filepath.Ext(src)) + ".cnm"
	}
	if filepath.Clean(*dst) == filepath.Clean(src) {
		return fmt.Errorf("output %s would overwrite the input; choose another -o", *dst)
	}
	if *testImages < 0 {
		return fmt.Errorf("--test-images %d: must be 0 or more", *testImages)
	}
	imported, err := onnx.ImportFile(src)
	if err != nil {
		return err
	}
	converted, err := rewrite.Convert(imported)
	if err != nil {
		return err
	}
	if err := converted.Save(*dst); err != nil {
		return fmt.Errorf("write %s: %w", *dst, err)
	}
	st, err := os.Stat(*dst)
	if err != nil {
		return err
	}
	rep := &convertReport{Source: src, Output: *dst, FileBytes: st.Size(), Rewrites: converted.Provenance.Rewrites}
	if rep.Before, err = describe(imported); err != nil {
		return err
	}
	if rep.After, err = describe(converted); err != nil {
		return err
	}
	if *testImages > 0 {
		if rep.Accuracy, err = compareAccuracy(imported, converted, *testImages); err != nil {
			return err
		}
	}
	return c.emit(out, rep)
}

// compareAccuracy evaluates both plaintext networks on the first n MNIST test images.
func compareAccuracy(before, after *model.Model, n int) (*convertAccuracy, error) {
	set, err := mnist.Test()
	if err != nil {
		return nil, err
	}
	if n > len(set.Images) {
		return nil, fmt.Errorf("--test-images %d: the MNIST test set has %d images", n, len(set.Images))
	}
	set = set.First(n)
	lb, err := reference(before, set.Images)
	if err != nil {
		return nil, err
	}
	la, err := reference(after, set.Images)
	if err != nil {
		return nil, err
	}
	return &convertAccuracy{Images: n, Before: accuracy(lb, set.Labels), After: accuracy(la, set.Labels),
		Agreement: agreement(lb, la)}, nil
}

// agreement returns the fraction of rows of a and b with the same argmax.
func agreement(a, b [][]float64) float64 {
	same := 0
	for i := range a {
		if model.Argmax(a[i]) == model.Argmax(b[i]) {
			same++
		}
	}
	return float64(same) / float64(len(a))
}

// writeText implements report.
func (r *convertReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "converted %s -> %s (%s)\n", r.Source, r.Output, byteSize(r.FileBytes))
	fmt.Fprintf(w, "\nbefore (imported, %d layers):\n", len(r.Before.Layers))
	writeLayers(w, r.Before)
	fmt.Fprintf(w, "\nafter (converted, %d layers):\n", len(r.After.Layers))
	writeLayers(w, r.After)
	fmt.Fprintf(w, "\nrewrites: %s\n", strings.Join(r.Rewrites, "; "))
	if a := r.Accuracy; a != nil {
		fmt.Fprintf(w, "\nplaintext accuracy on the first %d MNIST test images:\n", a.Images)
		t := newTable(w)
		t.row("before (with softmax)", "%s", percent(a.Before))
		t.row("after conversion", "%s", percent(a.After))
		t.row("argmax agreement", "%s", percent(a.Agreement))
		t.flush()
	}
}
