package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
)

// sweepRow is one measured (packing, images) cell of a sweep.
type sweepRow struct {
	// Asked is the packing asked for (batch, single or auto); Packing the one used.
	Asked          string  `json:"asked"`
	Packing        string  `json:"packing"`
	Images         int     `json:"images"`
	ImagesPerBatch int     `json:"images_per_batch"`
	Requests       int     `json:"requests"`
	TotalSeconds   float64 `json:"total_seconds"`
	LatencySeconds float64 `json:"latency_seconds"`
	// ImagesPerSecond is end to end: images / (encrypt + evaluate + decrypt).
	ImagesPerSecond float64 `json:"images_per_second"`
	// PredictedSeconds is the cost model's estimate of TotalSeconds.
	PredictedSeconds float64 `json:"predicted_seconds"`
	UploadBytes      float64 `json:"upload_bytes"`
	EvalKeyBytes     int64   `json:"eval_key_bytes"`
	Agreement        float64 `json:"agreement"`
}

// sweepReport is the output of bench --sweep.
type sweepReport struct {
	Model string     `json:"model"`
	Rows  []sweepRow `json:"rows"`
	// AutoOverBest is, per image count, auto's total time over the best forced one.
	AutoOverBest map[string]float64 `json:"auto_over_best,omitempty"`
}

// writeText implements report: a Markdown table, as in the README.
func (r *sweepReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "| images | packing | per request | requests | total s | predicted s | latency s | images/s | upload/image | eval keys | agreement |\n")
	fmt.Fprintf(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.Rows {
		name := row.Packing
		if row.Asked == string(compile.Auto) {
			name = "auto → " + row.Packing
		}
		fmt.Fprintf(w, "| %d | %s | %d | %d | %.3g | %.3g | %.3g | %.4g | %s | %s | %s |\n", row.Images, name,
			row.ImagesPerBatch, row.Requests, row.TotalSeconds, row.PredictedSeconds, row.LatencySeconds,
			row.ImagesPerSecond, byteSize(int64(row.UploadBytes)), byteSize(row.EvalKeyBytes), percent(row.Agreement))
	}
	if len(r.AutoOverBest) > 0 {
		fmt.Fprintf(w, "\nauto / best forced total time:")
		for _, row := range r.Rows {
			if row.Asked == string(compile.Auto) {
				fmt.Fprintf(w, " %d: %.2f;", row.Images, r.AutoOverBest[strconv.Itoa(row.Images)])
			}
		}
		fmt.Fprintln(w)
	}
}

// sweepCell is one packing's plan for an image count and its fastest run.
type sweepCell struct {
	plan  compile.Plan
	meas  *measurement
	stats runStats
}

// A sweep cell whose total time is below sweepRepeatBelow seconds runs up to
// sweepRepeats times, and the fastest run is kept.
const (
	sweepRepeats     = 3
	sweepRepeatBelow = 30.0
)

// parseSweep reads the --sweep and --packings lists.
func parseSweep(counts, packings string) ([]int, []manifest.Packing, error) {
	var ns []int
	for _, f := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, nil, errs.New(errs.ErrInvalidArgument, "--sweep %q: want image counts ≥ 1, comma-separated", counts)
		}
		ns = append(ns, n)
	}
	var ps []manifest.Packing
	for _, f := range strings.Split(packings, ",") {
		p := manifest.Packing(strings.TrimSpace(f))
		if _, err := compile.Lookup(p); err != nil && p != compile.Auto {
			return nil, nil, fmt.Errorf("--packings %q: %w (or auto)", packings, err)
		}
		ps = append(ps, p)
	}
	return ns, ps, nil
}

// runSweep measures every (packing, image count) pair: each compiles the model for
// that packing (auto: for that many images), and runs the images through measuredRun.
func runSweep(c *cli, rf *runFlags, counts []int, packings []manifest.Packing) error {
	m, err := loadConverted(*rf.model)
	if err != nil {
		return err
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		return err
	}
	rep := &sweepReport{Model: m.Name, AutoOverBest: map[string]float64{}}
	prog := newProgress(c.stderr, rf.out.quiet)
	for _, n := range counts {
		images := make([][]float64, n)
		for i := range images {
			images[i] = set.Records[i%len(set.Records)]
		}
		cells := make([]sweepCell, len(packings))
		for i, packing := range packings {
			flags := *rf.compile
			flags.packing, flags.expected = string(packing), n
			if cells[i].plan, err = flags.compile(c, m, 0); err != nil {
				return fmt.Errorf("%s, %d images: %w", packing, n, err)
			}
		}
		// Short cells are noisy: they run up to sweepRepeats times and keep the fastest.
		// The runs go round the packings, so that a slow spell of the machine falls on
		// all of them alike.
		for round := range sweepRepeats {
			for i, packing := range packings {
				cell := &cells[i]
				if round > 0 && cell.stats.TotalSeconds >= sweepRepeatBelow {
					continue
				}
				prog.logf("sweep: %d images, %s packing (%s), run %d", n, packing, cell.plan.Packing(), round+1)
				run, err := measuredRun(cell.plan, images, prog)
				if err != nil {
					return fmt.Errorf("%s, %d images: %w", packing, n, err)
				}
				st, err := stats(cell.plan, run)
				if err != nil {
					return err
				}
				if cell.meas == nil || st.TotalSeconds < cell.stats.TotalSeconds {
					cell.meas, cell.stats = run, st
				}
			}
		}
		plain, err := reference(m, images)
		if err != nil {
			return err
		}
		best, auto := 0.0, 0.0
		for i, packing := range packings {
			p, st := cells[i].plan, cells[i].stats
			row := sweepRow{Asked: string(packing), Packing: string(p.Packing()), Images: n,
				ImagesPerBatch: st.ImagesPerBatch, Requests: st.Batches, TotalSeconds: st.TotalSeconds,
				LatencySeconds: st.LatencySeconds, ImagesPerSecond: round(float64(n)/st.TotalSeconds, 1),
				PredictedSeconds: roundSignificant(compile.EstimateOf(p, n).TotalSeconds, 3),
				UploadBytes:      st.UploadBytes, EvalKeyBytes: st.EvalKeyBytes, Agreement: agreement(cells[i].meas.Logits, plain)}
			rep.Rows = append(rep.Rows, row)
			if packing == compile.Auto {
				auto = st.TotalSeconds
			} else if best == 0 || st.TotalSeconds < best {
				best = st.TotalSeconds
			}
		}
		if auto > 0 && best > 0 {
			rep.AutoOverBest[strconv.Itoa(n)] = round(auto/best, 3)
		}
	}
	return c.emit(rf.out, rep)
}
