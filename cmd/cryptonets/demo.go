package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// defaultModel is the converted MNIST model, relative to the repository root.
const defaultModel = "models/mnist/mnist_cryptonets.cnm"

// demoReport is the output of demo: the run's measurements and how the encrypted
// predictions compare with the labels and with the plaintext evaluation of the same
// converted model.
type demoReport struct {
	runStats
	// Accuracy and PlaintextAccuracy are set when the records have labels.
	Accuracy          *float64 `json:"accuracy,omitempty"`
	PlaintextAccuracy *float64 `json:"plaintext_accuracy,omitempty"`
	// Agreement is the fraction of images whose encrypted and plaintext argmax agree.
	Agreement     float64 `json:"agreement"`
	Disagreements int     `json:"disagreements"`
	// MaxAbsError is the largest |encrypted − plaintext| over all logits.
	MaxAbsError float64 `json:"max_abs_error"`
	OutputBound float64 `json:"output_bound"`
}

// writeText implements report.
func (r *demoReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "CryptoNets demo: %d records, encrypted end to end\n", r.Images)
	t := newTable(w)
	r.rows(t)
	if r.Accuracy != nil {
		t.row("encrypted accuracy", "%s", percent(*r.Accuracy))
		t.row("plaintext accuracy", "%s (same converted model, float64)", percent(*r.PlaintextAccuracy))
	}
	t.row("argmax agreement", "%s (%d disagreements)", percent(r.Agreement), r.Disagreements)
	t.row("max |logit error|", "%.3g (logits bounded by %.4g)", r.MaxAbsError, r.OutputBound)
	t.flush()
}

// runFlags are the flags demo and bench share.
type runFlags struct {
	model       *string
	images      *int
	in          stringList
	labelColumn *string
	compile     *compileFlags
	out         *output
}

// addRunFlags registers the flags demo and bench share.
func addRunFlags(fs *flag.FlagSet, defaultImages int, imagesHelp string) *runFlags {
	f := &runFlags{
		model:       fs.String("model", defaultModel, "converted model `file` (.cnm)"),
		images:      fs.Int("images", defaultImages, imagesHelp),
		labelColumn: fs.String("label-column", "", "for a CSV --in file with a header: the `NAME` of the column of true labels"),
		compile:     addCompileFlags(fs),
		out:         outputFlags(fs),
	}
	fs.Var(&f.in, "in", "records to use instead of the MNIST test images: `PATH` of a file ("+dataset.Formats+"); repeat for more")
	return f
}

// records returns the records of --in, read for the model file's input shape, or
// the MNIST test images without --in.
func (f *runFlags) records() (*dataset.Set, error) {
	m, err := loadConverted(*f.model)
	if err != nil {
		return nil, err
	}
	if len(f.in) == 0 {
		if m.Input != dataset.MNISTShape() {
			return nil, errs.New(errs.ErrInvalidArgument, "the model takes %v records, not MNIST images: give your records with --in", m.Input)
		}
		return dataset.MNIST(dataset.MNISTTest, 0)
	}
	return dataset.ReadAll(f.in, dataset.Options{Shape: m.Input, LabelColumn: *f.labelColumn})
}

// setup loads and compiles the model for images images (0: a full batch), timing
// the compilation.
func (f *runFlags) setup(c *cli, images int) (*model.Model, compile.Plan, float64, error) {
	m, err := loadConverted(*f.model)
	if err != nil {
		return nil, nil, 0, err
	}
	start := time.Now()
	p, err := f.compile.compile(c, m, images)
	if err != nil {
		return nil, nil, 0, err
	}
	return m, p, time.Since(start).Seconds(), nil
}

// runDemo is the demo command.
func runDemo(c *cli, args []string) error {
	fs := c.flags("[--model MODEL.cnm] [--images N] [--in FILE [--label-column NAME]] [--params NAME] [--insecure] [--json]", `
Runs the whole exchange in one process, through bytes as over a network: keygen,
encrypt the first N MNIST test images (or the records of --in) in batches,
evaluate, decrypt. Reports the encrypted accuracy and the plaintext accuracy of
the same converted model (when the records have labels), their argmax agreement
and largest logit error, the time of every phase, throughput, bytes per image and
peak memory. Progress lines go to stderr.`)
	rf := addRunFlags(fs, 0, "number `N` of records, from the first (default: all: the 10,000 MNIST test images)")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if *rf.images < 0 {
		return errs.New(errs.ErrInvalidArgument, "--images %d: want at least 1", *rf.images)
	}
	set, err := rf.records()
	if err != nil {
		return err
	}
	if *rf.images > set.Len() {
		return errs.New(errs.ErrInvalidArgument, "--images %d: the input has %d records", *rf.images, set.Len())
	}
	if *rf.images > 0 {
		set = set.First(*rf.images)
	}
	m, p, compileSecs, err := rf.setup(c, set.Len())
	if err != nil {
		return err
	}
	prog := newProgress(c.stderr, rf.out.quiet)
	meas, err := measuredRun(p, set.Records, prog)
	if err != nil {
		return err
	}
	meas.Seconds.Compile = compileSecs
	start := time.Now()
	plain, err := reference(m, set.Records)
	if err != nil {
		return err
	}
	meas.Seconds.Plaintext = time.Since(start).Seconds()
	st, err := stats(p, meas)
	if err != nil {
		return err
	}
	st.PackingChoice = &rf.compile.choice
	rep := &demoReport{runStats: st, Agreement: agreement(meas.Logits, plain), OutputBound: meas.Manifest.OutputBound}
	if set.Labels != nil {
		enc, plainAcc := accuracy(meas.Logits, set.Labels), accuracy(plain, set.Labels)
		rep.Accuracy, rep.PlaintextAccuracy = &enc, &plainAcc
	}
	for i := range plain {
		if model.Argmax(plain[i]) != model.Argmax(meas.Logits[i]) {
			rep.Disagreements++
		}
		for j := range plain[i] {
			rep.MaxAbsError = math.Max(rep.MaxAbsError, math.Abs(plain[i][j]-meas.Logits[i][j]))
		}
	}
	return c.emit(rf.out, rep)
}

// benchReport is the output of bench.
type benchReport struct {
	runStats
}

// writeText implements report.
func (r *benchReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "CryptoNets bench: %d encrypted images\n", r.Images)
	t := newTable(w)
	r.rows(t)
	t.flush()
}

// runBench is the bench command: one full batch through measuredRun, as demo, or a
// sweep over packings and image counts.
func runBench(c *cli, args []string) error {
	fs := c.flags("[--model MODEL.cnm] [--images N] [--in FILE] [--packing P] [--params NAME] [--insecure] [--sweep N,N,...] [--json]", `
Measures one full encrypted batch (or N images) through the same code path as demo:
keygen, encrypt, evaluate and decrypt times (latency_seconds per request; encrypt,
evaluate and decrypt seconds per image), images per second, bytes per image,
evaluation key bytes and peak memory. The MNIST test images (or the records of
--in) are reused cyclically when N exceeds their number. With --sweep, measures every image count under every packing
of --packings and prints a Markdown table (the README's) with the cost model's
prediction beside each measurement.`)
	rf := addRunFlags(fs, 0, "number `N` of images (default: one full batch, or one request)")
	sweep := fs.String("sweep", "", "comma-separated image `COUNTS` to measure under each of --packings")
	packings := fs.String("packings", "batch,single,auto", "comma-separated `PACKINGS` for --sweep")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if *sweep != "" {
		counts, ps, err := parseSweep(*sweep, *packings)
		if err != nil {
			return err
		}
		return runSweep(c, rf, counts, ps)
	}
	if *rf.images < 0 {
		return errs.New(errs.ErrInvalidArgument, "--images %d: want at least 1", *rf.images)
	}
	set, err := rf.records()
	if err != nil {
		return err
	}
	_, p, compileSecs, err := rf.setup(c, *rf.images)
	if err != nil {
		return err
	}
	n := *rf.images
	if n == 0 {
		n = p.Manifest().ImagesPerBatch
	}
	images := make([][]float64, n)
	for i := range images {
		images[i] = set.Records[i%len(set.Records)]
	}
	meas, err := measuredRun(p, images, newProgress(c.stderr, rf.out.quiet))
	if err != nil {
		return err
	}
	meas.Seconds.Compile = compileSecs
	st, err := stats(p, meas)
	if err != nil {
		return err
	}
	st.PackingChoice = &rf.compile.choice
	return c.emit(rf.out, &benchReport{runStats: st})
}
