package dataset

import (
	"bufio"
	"math"
	"os"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// ReadLabels reads true labels, one integer per record: an .npy array of shape (n,)
// or (n, 1) of integers (or of floats that are integers), a one-dimensional IDX file
// (MNIST's *-labels-idx1-ubyte), or a CSV or text file with one label per line (after
// an optional header line).
func ReadLabels(path string) ([]int, error) {
	switch Format(path) {
	case "npy":
		f, err := os.Open(path)
		if err != nil {
			return nil, errs.New(errs.ErrIO, "dataset: %w", err)
		}
		defer f.Close()
		shape, values, err := ReadNPY(bufio.NewReaderSize(f, 1<<20), path)
		if err != nil {
			return nil, err
		}
		if !(len(shape) == 1 || (len(shape) == 2 && shape[1] == 1)) {
			return nil, errs.New(errs.ErrMismatch, "dataset: %s: labels are an array of shape (n,) or (n, 1), this one is %s", path, shapeText(shape))
		}
		return toLabels(values, path)
	case "idx":
		return readIDXLabels(path, 0)
	}
	set, err := readCSVFile(path, Options{Shape: model.Shape{C: 1, H: 1, W: 1}})
	if err != nil {
		return nil, err
	}
	values := make([]float64, set.Len())
	for i, r := range set.Records {
		values[i] = r[0]
	}
	return toLabels(values, path)
}

// toLabels converts values that must be integers into labels.
func toLabels(values []float64, file string) ([]int, error) {
	labels := make([]int, len(values))
	for i, v := range values {
		if v != math.Trunc(v) || math.Abs(v) > 1<<31 {
			return nil, errs.New(errs.ErrMalformed, "dataset: %s: row %d: label %g is not an integer", file, i, v)
		}
		labels[i] = int(v)
	}
	return labels, nil
}
