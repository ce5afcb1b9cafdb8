package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// predictionFlags are the output flags of decrypt and predict-plain.
type predictionFlags struct {
	out           string
	logits        bool
	probabilities bool
	labels        string
}

// addPredictionFlags registers --out, --logits, --probabilities and --labels.
func addPredictionFlags(fs *flag.FlagSet) *predictionFlags {
	f := &predictionFlags{}
	fs.StringVar(&f.out, "out", "", "write one row per record to `FILE`: .csv, .json or .npy (the label; the input's file and row when known)")
	fs.BoolVar(&f.logits, "logits", false, "add the logits to --out and to the --json report")
	fs.BoolVar(&f.probabilities, "probabilities", false, "add the class probabilities (softmax of the logits) to --out and to the --json report")
	fs.StringVar(&f.labels, "labels", "", "true labels to report accuracy against: `FILE` (.npy, IDX, or CSV/text with one label per line)")
	return f
}

// checkOut checks --out's extension before any work is done.
func (f *predictionFlags) checkOut() error {
	if f.out == "" {
		return nil
	}
	switch strings.ToLower(filepath.Ext(f.out)) {
	case ".csv", ".json", ".npy":
		return nil
	}
	return errs.New(errs.ErrInvalidArgument, "--out %s: want a file name ending in .csv, .json or .npy", f.out)
}

// predictions are the results of decrypt or predict-plain, one per record.
type predictions struct {
	logits [][]float64
	// sources are where the records came from, or nil.
	sources []dataset.Source
	// truth are the true labels, or nil.
	truth []int
}

// labels returns the argmax of every row of logits.
func (p *predictions) labels() []int {
	out := make([]int, len(p.logits))
	for i, l := range p.logits {
		out[i] = model.Argmax(l)
	}
	return out
}

// predictionReport is the part of the decrypt and predict-plain reports about the
// predictions.
type predictionReport struct {
	Records       int         `json:"records"`
	Labels        []int       `json:"labels"`
	Logits        [][]float64 `json:"logits,omitempty"`
	Probabilities [][]float64 `json:"probabilities,omitempty"`
	// Accuracy is set when the true labels are known.
	Accuracy *float64 `json:"accuracy,omitempty"`
	Output   string   `json:"output,omitempty"`
}

// finish reads --labels if given, writes --out if given, and fills the report.
func (f *predictionFlags) finish(p *predictions) (*predictionReport, error) {
	if f.labels != "" {
		truth, err := dataset.ReadLabels(f.labels)
		if err != nil {
			return nil, err
		}
		if len(truth) != len(p.logits) {
			return nil, errs.New(errs.ErrMismatch, "--labels %s: %d labels for %d records", f.labels, len(truth), len(p.logits))
		}
		p.truth = truth
	}
	rep := &predictionReport{Records: len(p.logits), Labels: p.labels()}
	if f.logits {
		rep.Logits = p.logits
	}
	if f.probabilities {
		rep.Probabilities = make([][]float64, len(p.logits))
		for i, l := range p.logits {
			rep.Probabilities[i] = model.Probabilities(l)
		}
	}
	if p.truth != nil {
		acc := accuracy(p.logits, p.truth)
		rep.Accuracy = &acc
	}
	if f.out != "" {
		if err := writeBytes(f.out, 0o600, encodePredictions(f.out, rep, p.sources)); err != nil {
			return nil, err
		}
		rep.Output = f.out
	}
	return rep, nil
}

// encodePredictions encodes the report's rows in the format of path's extension
// (checked by checkOut).
func encodePredictions(path string, rep *predictionReport, sources []dataset.Source) []byte {
	var buf bytes.Buffer
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		type row struct {
			File          string    `json:"file,omitempty"`
			Row           *int      `json:"row,omitempty"`
			Label         int       `json:"label"`
			Logits        []float64 `json:"logits,omitempty"`
			Probabilities []float64 `json:"probabilities,omitempty"`
		}
		rows := make([]row, rep.Records)
		for i := range rows {
			rows[i].Label = rep.Labels[i]
			if sources != nil {
				rows[i].File = sources[i].File
				if sources[i].Row >= 0 {
					rows[i].Row = &sources[i].Row
				}
			}
			if rep.Logits != nil {
				rows[i].Logits = rep.Logits[i]
			}
			if rep.Probabilities != nil {
				rows[i].Probabilities = rep.Probabilities[i]
			}
		}
		data, _ := json.Marshal(struct {
			Records     int   `json:"records"`
			Predictions []row `json:"predictions"`
		}{rep.Records, rows}) // a struct of numbers and strings: cannot fail
		buf.Write(append(data, '\n'))
	case ".npy":
		writePredictionsNPY(&buf, rep)
	default:
		writePredictionsCSV(&buf, rep, sources)
	}
	return buf.Bytes()
}

// writePredictionsCSV writes a header, then one row per record: file and row (when
// known), label, then the logits and probabilities asked for.
func writePredictionsCSV(w io.Writer, rep *predictionReport, sources []dataset.Source) {
	cw := csv.NewWriter(w)
	var header []string
	if sources != nil {
		header = append(header, "file", "row")
	}
	header = append(header, "label")
	classes := 0
	if rep.Records > 0 && rep.Logits != nil {
		classes = len(rep.Logits[0])
	} else if rep.Records > 0 && rep.Probabilities != nil {
		classes = len(rep.Probabilities[0])
	}
	for _, part := range []struct {
		name string
		rows [][]float64
	}{{"logit", rep.Logits}, {"probability", rep.Probabilities}} {
		if part.rows != nil {
			for j := range classes {
				header = append(header, fmt.Sprintf("%s_%d", part.name, j))
			}
		}
	}
	cw.Write(header)
	for i := range rep.Records {
		var rec []string
		if sources != nil {
			row := ""
			if sources[i].Row >= 0 {
				row = strconv.Itoa(sources[i].Row)
			}
			rec = append(rec, sources[i].File, row)
		}
		rec = append(rec, strconv.Itoa(rep.Labels[i]))
		for _, rows := range [][][]float64{rep.Logits, rep.Probabilities} {
			if rows != nil {
				for _, v := range rows[i] {
					rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
				}
			}
		}
		cw.Write(rec)
	}
	cw.Flush() // writes to a buffer: cannot fail
}

// writePredictionsNPY writes the labels as int64, shape (n,); with logits or
// probabilities, one float64 array (n, 1 + …) whose first column is the label, then
// the logits, then the probabilities, as asked for.
func writePredictionsNPY(w io.Writer, rep *predictionReport) {
	if rep.Logits == nil && rep.Probabilities == nil {
		values := make([]float64, rep.Records)
		for i, l := range rep.Labels {
			values[i] = float64(l)
		}
		_ = dataset.WriteNPY(w, []int{rep.Records}, values, true) // shape and count agree
		return
	}
	var values []float64
	width := 0
	for i := range rep.Records {
		row := []float64{float64(rep.Labels[i])}
		for _, rows := range [][][]float64{rep.Logits, rep.Probabilities} {
			if rows != nil {
				row = append(row, rows[i]...)
			}
		}
		width = len(row)
		values = append(values, row...)
	}
	_ = dataset.WriteNPY(w, []int{rep.Records, width}, values, false) // shape and count agree
}

// writeText writes the predictions for people.
func (r *predictionReport) writeText(w io.Writer) {
	const shown = 64
	fmt.Fprintf(w, "predicted labels of %d records:\n", r.Records)
	intList(w, "  ", r.Labels[:min(shown, len(r.Labels))], 32)
	if r.Records > shown {
		more := "write them all with --out"
		if r.Output != "" {
			more = "all in " + r.Output
		}
		fmt.Fprintf(w, "  … and %d more (%s)\n", r.Records-shown, more)
	}
	if r.Accuracy != nil {
		fmt.Fprintf(w, "accuracy against the true labels: %s\n", percent(*r.Accuracy))
	}
	if r.Output != "" {
		fmt.Fprintf(w, "predictions written to %s\n", r.Output)
	}
}
