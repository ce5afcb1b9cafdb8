// Package dataset reads the records users bring — NumPy .npy arrays, CSV tables,
// PNG and JPEG images, IDX files (MNIST's format) and directories of images — into
// the float64 records a model takes, and keeps where each record came from, so that
// an error, and every prediction, names its file and row.
//
// Values are taken as the file holds them, except image pixels: PNG and JPEG pixels
// and unsigned-byte IDX values become value/max in [0, 1] (value/255 for 8-bit
// images), the convention the shipped MNIST models follow. A record that does not
// have the model's shape is an error, never resized. The model's own preprocessing
// (model.InputSpec.Prepare) is applied afterwards, by the client.
//
// Every error wraps a class of package errs: ErrIO (a file that cannot be read),
// ErrMalformed (a file that does not decode: a corrupt PNG, a truncated .npy, a CSV
// row with a missing column), ErrMismatch (a well-formed record of another shape)
// and ErrUnsupported (a data type or format the package does not read).
package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// Source is where a record came from: its file and, for a file of several records,
// its row (0-based: the index along the first axis of an array, or the data row of a
// CSV file, header excluded).
type Source struct {
	File string `json:"file"`
	// Row is -1 for a file that holds one record (an image).
	Row int `json:"row"`
}

// String names the source as errors do: "scan.png", "data.npy row 3".
func (s Source) String() string {
	if s.Row < 0 {
		return s.File
	}
	return fmt.Sprintf("%s row %d", s.File, s.Row)
}

// Set is a list of records of one shape, with the source of each and, when the input
// carried them (a CSV label column, an IDX label file, MNIST), their true labels.
type Set struct {
	// Shape is the shape of every record.
	Shape model.Shape
	// Records holds Shape.Size() values per record, channel-major.
	Records [][]float64
	// Sources has one entry per record.
	Sources []Source
	// Labels has one entry per record, or is nil.
	Labels []int
}

// Len returns the number of records.
func (s *Set) Len() int { return len(s.Records) }

// Name returns the source of record i, for error messages.
func (s *Set) Name(i int) string { return s.Sources[i].String() }

// Slice returns the records [lo, hi) of s, sharing its memory.
func (s *Set) Slice(lo, hi int) *Set {
	out := &Set{Shape: s.Shape, Records: s.Records[lo:hi], Sources: s.Sources[lo:hi]}
	if s.Labels != nil {
		out.Labels = s.Labels[lo:hi]
	}
	return out
}

// First returns the first n records of s (all of them if n ≤ 0 or too large).
func (s *Set) First(n int) *Set {
	if n <= 0 || n > s.Len() {
		n = s.Len()
	}
	return s.Slice(0, n)
}

// Append adds the records of t, which must have s's shape. The result has labels
// only if both sets had them.
func (s *Set) Append(t *Set) error {
	if s.Shape != t.Shape {
		return errs.New(errs.ErrMismatch, "dataset: records of shape %v and %v cannot be mixed", s.Shape, t.Shape)
	}
	hadLabels := s.Labels != nil || s.Len() == 0
	s.Records = append(s.Records, t.Records...)
	s.Sources = append(s.Sources, t.Sources...)
	if hadLabels && t.Labels != nil {
		s.Labels = append(s.Labels, t.Labels...)
	} else {
		s.Labels = nil
	}
	return nil
}

// Options say how to read records.
type Options struct {
	// Shape is the shape every record must have: the model's input.
	Shape model.Shape
	// Columns names, for a CSV file with a header, the columns that hold a record's
	// values, in the model's order; nil takes every column but LabelColumn, in the
	// file's order.
	Columns []string
	// LabelColumn names, for a CSV file with a header, the column holding true
	// labels (integers); it is not part of the records.
	LabelColumn string
}

// imageExtensions are the file name extensions Read decodes as images.
var imageExtensions = []string{".png", ".jpg", ".jpeg"}

// Formats describes the inputs Read takes, for help texts.
const Formats = ".npy, .csv, .png, .jpg/.jpeg, IDX (.idx, *-ubyte, optionally .gz) or a directory of images"

// Read reads the records of a file or of a directory of images, by the name's
// extension: .npy, .csv, .png, .jpg or .jpeg, IDX (.idx, a name ending in -ubyte, or
// either followed by .gz). A directory's images are read in the order of their names
// (files whose names start with a dot are skipped; any other file that is not an
// image is an error).
func Read(path string, opts Options) (*Set, error) {
	if !opts.Shape.Valid() {
		return nil, errs.New(errs.ErrInvalidArgument, "dataset: invalid record shape %v", opts.Shape)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, errs.New(errs.ErrIO, "dataset: %w", err)
	}
	switch Format(path) {
	case "directory":
		return readDir(path, opts.Shape)
	case "npy":
		return readNPYFile(path, opts.Shape)
	case "csv":
		return readCSVFile(path, opts)
	case "image":
		return readImageFile(path, opts.Shape)
	case "idx":
		return readIDXFile(path, opts.Shape)
	}
	return nil, errs.New(errs.ErrUnsupported, "dataset: %s: unknown kind of file: want %s", path, Formats)
}

// ReadAll reads every path with Read and returns their records in order.
func ReadAll(paths []string, opts Options) (*Set, error) {
	if len(paths) == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "dataset: no input")
	}
	all := &Set{Shape: opts.Shape}
	for _, p := range paths {
		s, err := Read(p, opts)
		if err != nil {
			return nil, err
		}
		if err := all.Append(s); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// Format names the kind of input path is, as Read tells it: "directory", or from the
// file name's extension "npy", "csv", "image" or "idx"; "" for anything else.
func Format(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return "directory"
	}
	name := strings.ToLower(filepath.Base(path))
	name = strings.TrimSuffix(name, ".gz")
	ext := filepath.Ext(name)
	switch {
	case ext == ".npy":
		return "npy"
	case ext == ".csv":
		return "csv"
	case slices.Contains(imageExtensions, ext):
		return "image"
	case ext == ".idx" || strings.HasSuffix(name, "-ubyte") || strings.HasSuffix(name, ".ubyte"):
		return "idx"
	}
	return ""
}

// readDir reads the images of a directory, in the order of their names.
func readDir(dir string, shape model.Shape) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "dataset: %w", err)
	}
	set := &Set{Shape: shape}
	for _, e := range entries { // os.ReadDir sorts by name
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if Format(path) != "image" {
			return nil, errs.New(errs.ErrUnsupported, "dataset: %s: not an image (a directory may hold only PNG and JPEG files)", path)
		}
		values, err := decodeImageFile(path, shape)
		if err != nil {
			return nil, err
		}
		set.Records = append(set.Records, values)
		set.Sources = append(set.Sources, Source{File: path, Row: -1})
	}
	if set.Len() == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "dataset: %s: no images in the directory", dir)
	}
	return set, nil
}

// trailingShapeFits reports whether the dimensions of one record, as an array file
// gives them, describe a record of shape s: C×H×W itself, with leading 1s dropped
// (H×W for one channel, or W for a vector or a one-channel signal), or the flat
// C·H·W values.
func trailingShapeFits(dims []int, s model.Shape) bool {
	full := []int{s.C, s.H, s.W}
	for {
		if slices.Equal(dims, full) {
			return true
		}
		if len(full) == 1 || full[0] != 1 {
			break
		}
		full = full[1:]
	}
	return len(dims) == 1 && dims[0] == s.Size()
}

// shapeText formats array dimensions as (n, a, b).
func shapeText(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// recordShapeError says that an array of dims does not hold records of shape s.
func recordShapeError(file string, dims []int, s model.Shape) error {
	want := fmt.Sprintf("(n, %d, %d, %d) or (n, %d)", s.C, s.H, s.W, s.Size())
	if s.C == 1 && !(s.H == 1 && s.W == 1) {
		want = fmt.Sprintf("(n, %d, %d), %s", s.H, s.W, want)
	}
	return errs.New(errs.ErrMismatch, "dataset: %s: array of shape %s does not hold records of the model's shape %v: want %s",
		file, shapeText(dims), s, want)
}
