package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
)

// A CSV file holds one record per row. Its first row is a header when any of its
// fields is not a number; the header names the columns, so that Options.Columns can
// pick the record's values and Options.LabelColumn the true labels. Without a header
// every column is a value of the record, in order.

// readCSVFile reads the records of a CSV file.
func readCSVFile(path string, opts Options) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "dataset: %w", err)
	}
	defer f.Close()
	return readCSV(bufio.NewReaderSize(f, 1<<20), path, opts)
}

// csvLayout says which fields of a row make the record and which holds the label.
type csvLayout struct {
	names  []string // column names from the header, nil without one
	width  int      // fields per row
	values []int    // the fields of the record's values, in order
	label  int      // the label's field, or -1
}

func readCSV(r io.Reader, file string, opts Options) (*Set, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // rows are checked here, to name the missing column
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	set := &Set{Shape: opts.Shape}
	var layout *csvLayout
	for row := 0; ; {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errs.New(errs.ErrMalformed, "dataset: %s: line %d: %v", file, pe.Line, pe.Err)
			}
			return nil, errs.New(errs.ErrIO, "dataset: %s: %w", file, err)
		}
		line, _ := cr.FieldPos(0)
		if layout == nil {
			if layout, err = newCSVLayout(fields, file, opts); err != nil {
				return nil, err
			}
			if layout.names != nil {
				continue // the header
			}
		}
		if len(fields) == 1 && fields[0] == "" {
			continue // a blank line
		}
		values, label, err := layout.parse(fields, file, line)
		if err != nil {
			return nil, err
		}
		set.Records = append(set.Records, values)
		set.Sources = append(set.Sources, Source{File: file, Row: row})
		if layout.label >= 0 {
			set.Labels = append(set.Labels, label)
		}
		row++
	}
	if set.Len() == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "dataset: %s: no records", file)
	}
	return set, nil
}

// newCSVLayout reads the first row: a header if any field is not a number.
func newCSVLayout(first []string, file string, opts Options) (*csvLayout, error) {
	l := &csvLayout{width: len(first), label: -1}
	for _, f := range first {
		if _, err := parseNumber(f); err != nil {
			l.names = slices.Clone(first)
			break
		}
	}
	if l.names == nil && (opts.Columns != nil || opts.LabelColumn != "") {
		return nil, errs.New(errs.ErrInvalidArgument, "dataset: %s: columns are chosen by name, but the file has no header row", file)
	}
	find := func(name string) (int, error) {
		i := slices.Index(l.names, name)
		if i < 0 {
			return 0, errs.New(errs.ErrInvalidArgument, "dataset: %s: no column named %q; the header has %s", file, name, quoteList(l.names))
		}
		return i, nil
	}
	if opts.LabelColumn != "" {
		var err error
		if l.label, err = find(opts.LabelColumn); err != nil {
			return nil, err
		}
	}
	if opts.Columns != nil {
		for _, name := range opts.Columns {
			i, err := find(name)
			if err != nil {
				return nil, err
			}
			l.values = append(l.values, i)
		}
	} else {
		for i := range l.width {
			if i != l.label {
				l.values = append(l.values, i)
			}
		}
	}
	if want := opts.Shape.Size(); len(l.values) != want {
		what := "columns"
		if l.label >= 0 {
			what = "columns besides the label"
		}
		return nil, errs.New(errs.ErrMismatch, "dataset: %s: %d %s, the model takes %d values per record (%v); choose the columns by name, or name the label column",
			file, len(l.values), what, want, opts.Shape)
	}
	return l, nil
}

// parse reads one data row, at the given line of the file.
func (l *csvLayout) parse(fields []string, file string, line int) ([]float64, int, error) {
	if len(fields) != l.width {
		first := "first row"
		if l.names != nil {
			first = "header"
		}
		return nil, 0, errs.New(errs.ErrMalformed, "dataset: %s: line %d has %d columns, the %s has %d (a missing or extra column)",
			file, line, len(fields), first, l.width)
	}
	values := make([]float64, len(l.values))
	for k, i := range l.values {
		v, err := parseNumber(fields[i])
		if err != nil {
			return nil, 0, errs.New(errs.ErrMalformed, "dataset: %s: line %d, %s: %v", file, line, l.column(i), err)
		}
		values[k] = v
	}
	label := 0
	if l.label >= 0 {
		v, err := parseNumber(fields[l.label])
		if err != nil || v != math.Trunc(v) || math.Abs(v) > 1<<31 {
			return nil, 0, errs.New(errs.ErrMalformed, "dataset: %s: line %d, %s: label %q is not an integer", file, line, l.column(l.label), fields[l.label])
		}
		label = int(v)
	}
	return values, label, nil
}

// column names a field in messages.
func (l *csvLayout) column(i int) string {
	if l.names != nil {
		return strconv.Quote(l.names[i]) + " (column " + strconv.Itoa(i+1) + ")"
	}
	return "column " + strconv.Itoa(i+1)
}

// parseNumber parses a CSV field as a number.
func parseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("the field is empty (a missing value)")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errors.New(strconv.Quote(s) + " is not a number")
	}
	return v, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
