package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"strings"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// stringList is a flag that may be given several times.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// inputFlags choose the records a client command (encrypt, predict-plain) works on:
// files (--in), or, without them, the MNIST test images the GoMNIST module ships.
type inputFlags struct {
	in          stringList
	columns     string
	labelColumn string
	images      int
	offset      int
}

// addInputFlags registers --in, --columns, --label-column, --images and --offset.
func addInputFlags(fs *flag.FlagSet) *inputFlags {
	f := &inputFlags{}
	fs.Var(&f.in, "in", "records to read: `PATH` of a file ("+dataset.Formats+"); repeat for more")
	fs.StringVar(&f.columns, "columns", "", "for a CSV file with a header: the `NAMES` of the columns that make a record, comma-separated, in the model's order (default: every column but the label's)")
	fs.StringVar(&f.labelColumn, "label-column", "", "for a CSV file with a header: the `NAME` of the column of true labels (not part of a record)")
	fs.IntVar(&f.images, "images", 0, "take `N` records (default: all of --in; without --in, N MNIST test images are required)")
	fs.IntVar(&f.offset, "offset", 0, "start at record `K`")
	return f
}

// read returns the records the flags ask for, of the given shape.
func (f *inputFlags) read(c *cli, shape model.Shape) (*dataset.Set, error) {
	if f.images < 0 || f.offset < 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "--images %d --offset %d: want numbers ≥ 0", f.images, f.offset)
	}
	var set *dataset.Set
	var err error
	if len(f.in) == 0 {
		if f.images == 0 {
			return nil, errs.New(errs.ErrInvalidArgument, "give the records with --in, or --images N for MNIST test images (see '%s -h')", c.name)
		}
		if shape != dataset.MNISTShape() {
			return nil, errs.New(errs.ErrInvalidArgument, "the model takes %v records, not MNIST images: give your records with --in", shape)
		}
		set, err = dataset.MNIST(dataset.MNISTTest, 0)
	} else {
		opts := dataset.Options{Shape: shape, LabelColumn: f.labelColumn}
		if f.columns != "" {
			opts.Columns = strings.Split(f.columns, ",")
		}
		set, err = dataset.ReadAll(f.in, opts)
	}
	if err != nil {
		return nil, err
	}
	n := f.images
	if n == 0 {
		n = set.Len() - f.offset
	}
	if n < 1 || f.offset+n > set.Len() {
		return nil, errs.New(errs.ErrInvalidArgument, "--offset %d --images %d: the input has records 0 to %d", f.offset, f.images, set.Len()-1)
	}
	return set.Slice(f.offset, f.offset+n), nil
}

// inputsFile is the JSON file encrypt --inputs-out writes and decrypt --inputs reads:
// where each encrypted record came from and, when the input had them, the true
// labels. It stays with the client: file names can say more than they should.
type inputsFile struct {
	Records int              `json:"records"`
	Inputs  []dataset.Source `json:"inputs"`
	Labels  []int            `json:"labels,omitempty"`
}

// writeInputs writes the inputs file of set.
func writeInputs(path string, set *dataset.Set) error {
	data, err := json.Marshal(inputsFile{Records: set.Len(), Inputs: set.Sources, Labels: set.Labels})
	if err != nil {
		return err
	}
	return writeBytes(path, 0o600, append(data, '\n'))
}

// readInputs reads an inputs file for n records.
func readInputs(path string, n int) (*inputsFile, error) {
	data, err := readFile(path, "inputs file")
	if err != nil {
		return nil, err
	}
	var in inputsFile
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, errs.New(errs.ErrMalformed, "%s: not an inputs file (written by encrypt --inputs-out): %w", path, err)
	}
	if in.Records != len(in.Inputs) || (in.Labels != nil && len(in.Labels) != in.Records) {
		return nil, errs.New(errs.ErrMalformed, "%s: %d records but %d inputs and %d labels", path, in.Records, len(in.Inputs), len(in.Labels))
	}
	if in.Records != n {
		return nil, errs.New(errs.ErrMismatch, "%s lists %d records, the results hold %d", path, in.Records, n)
	}
	return &in, nil
}

// openInput opens a file to read, or standard input for "-".
func openInput(c *cli, path, what string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(c.stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "read %s: %w", what, err)
	}
	return f, nil
}
