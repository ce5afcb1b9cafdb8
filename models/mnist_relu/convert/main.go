// Command convert turns the trained ReLU network models/mnist_relu/mnist_relu.onnx into
// the CryptoNets model file mnist_relu.cnm: it imports the ONNX graph, replaces each
// ReLU by a polynomial fitted over the range its inputs take on the first MNIST
// training images (rewrite.ConvertWith), and reports the plaintext accuracy on the
// 10,000 test images before and after, the intervals and the fit errors.
//
// Run from the repository root:
//
//	go run ./models/mnist_relu/convert
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

func main() {
	dir := filepath.Join("models", "mnist_relu")
	src := flag.String("onnx", filepath.Join(dir, "mnist_relu.onnx"), "the trained network")
	dst := flag.String("o", filepath.Join(dir, "mnist_relu.cnm"), "the converted model file to write")
	calib := flag.Int("calibration", 1000, "calibrate on the first `N` MNIST training images")
	degree := flag.Int("degree", 2, "degree of the polynomial activations")
	uniform := flag.Bool("uniform", false, "fit the polynomials evenly over their intervals, not on the calibration inputs")
	flag.Parse()
	opts := rewrite.ApproxOptions{Degree: *degree}
	if *uniform {
		opts.Weighting = rewrite.WeightUniform
	}
	if err := run(os.Stdout, *src, *dst, *calib, opts); err != nil {
		fmt.Fprintln(os.Stderr, "convert:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, src, dst string, calib int, opts rewrite.ApproxOptions) error {
	imported, converted, err := convert(src, calib, opts)
	if err != nil {
		return err
	}
	test, err := mnist.Test()
	if err != nil {
		return err
	}
	if err := report(w, imported, converted, test); err != nil {
		return err
	}
	if err := converted.Save(dst); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\n", dst)
	return nil
}

// convert imports the ONNX network and converts it, calibrating the polynomial
// activations on the first calib training images.
func convert(src string, calib int, opts rewrite.ApproxOptions) (imported, converted *model.Model, err error) {
	if imported, err = onnx.ImportFile(src); err != nil {
		return nil, nil, err
	}
	calibration, err := trainingImages(calib)
	if err != nil {
		return nil, nil, err
	}
	converted, err = rewrite.ConvertWith(imported, rewrite.Options{Calibration: calibration, ApproxOptions: opts})
	if err != nil {
		return nil, nil, err
	}
	converted.Provenance.Converter = "models/mnist_relu/convert"
	converted.Provenance.Notes += fmt.Sprintf("; activations calibrated on the first %d MNIST training images", calib)
	return imported, converted, nil
}

// trainingImages returns the first n MNIST training images.
func trainingImages(n int) ([][]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("-calibration %d: want 1 or more images", n)
	}
	set, err := mnist.TrainFirst(n)
	if err != nil {
		return nil, err
	}
	if len(set.Images) < n {
		return nil, fmt.Errorf("-calibration %d: the MNIST training set has %d images", n, len(set.Images))
	}
	return set.Images, nil
}

// report prints the rewrites, every polynomial with how many test inputs fall outside
// its interval, and the accuracy of both networks on the test set.
func report(w io.Writer, imported, converted *model.Model, test *mnist.Set) error {
	fmt.Fprintf(w, "rewrites:\n")
	for _, r := range converted.Provenance.Rewrites {
		fmt.Fprintf(w, "  %s\n", r)
	}
	for i, l := range converted.Layers {
		p, ok := l.(*model.Polynomial)
		if !ok {
			continue
		}
		lo, hi, outside, total, err := inputRange(converted, i, test.Images)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "layer %d: %s ≈ %v on [%.4f, %.4f], max fit error %.4f; test inputs span [%.4f, %.4f], %d of %d (%.4f%%) outside the interval\n",
			i, p.Fitted, p.Coeffs, p.Interval[0], p.Interval[1], p.FitError, lo, hi, outside, total, 100*float64(outside)/float64(total))
	}
	before, err := predictions(imported, test.Images)
	if err != nil {
		return err
	}
	after, err := predictions(converted, test.Images)
	if err != nil {
		return err
	}
	cb, ca, agree := 0, 0, 0
	for i, label := range test.Labels {
		cb += b2i(before[i] == label)
		ca += b2i(after[i] == label)
		agree += b2i(before[i] == after[i])
	}
	n := len(test.Labels)
	fmt.Fprintf(w, "test accuracy before: %.2f%% (%d/%d)\n", 100*float64(cb)/float64(n), cb, n)
	fmt.Fprintf(w, "test accuracy after:  %.2f%% (%d/%d)\n", 100*float64(ca)/float64(n), ca, n)
	fmt.Fprintf(w, "same prediction on %d/%d test images\n", agree, n)
	return nil
}

// inputRange evaluates the layers before layer i on the images and returns the range of
// layer i's inputs and how many of them lie outside its polynomial's interval.
func inputRange(m *model.Model, i int, images [][]float64) (lo, hi float64, outside, total int, err error) {
	prefix := *m
	prefix.Layers = m.Layers[:i]
	ref, err := model.NewReference(&prefix)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	iv := m.Layers[i].(*model.Polynomial).Interval
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range images {
		y, err := ref.Forward(x)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		for _, v := range y {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			outside += b2i(v < iv[0] || v > iv[1])
		}
		total += len(y)
	}
	return lo, hi, outside, total, nil
}

// predictions returns the argmax of the network's output on every image.
func predictions(m *model.Model, images [][]float64) ([]int, error) {
	ref, err := model.NewReference(m)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(images))
	for i, x := range images {
		y, err := ref.Forward(x)
		if err != nil {
			return nil, err
		}
		out[i] = model.Argmax(y)
	}
	return out, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
