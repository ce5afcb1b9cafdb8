package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

// defaultCalibration is the number of MNIST training images convert calibrates on
// when the network needs calibration and no --calibration flag is given.
const defaultCalibration = 1000

// convertReport is the output of convert.
type convertReport struct {
	Source    string `json:"source"`
	Output    string `json:"output"`
	FileBytes int64  `json:"file_bytes"`
	// Calibration says what the activations were fitted on; nil when the network
	// needed no calibration.
	Calibration *calibrationInfo `json:"calibration,omitempty"`
	Rewrites    []string         `json:"rewrites"`
	Before      *modelInfo       `json:"before"`
	After       *modelInfo       `json:"after"`
	// Fitted lists the polynomial activations of the converted network.
	Fitted []fittedInfo `json:"fitted_activations"`
	// Conversion is what the conversion cost on the calibration inputs, against its
	// budget, and how each activation was approximated (with calibration data).
	Conversion *rewrite.Report `json:"conversion,omitempty"`
	// Encryption is what the converted network needs to run on encrypted data.
	Encryption *encryptionInfo `json:"encryption"`
	// Accuracy is set with --test-images or --test-data.
	Accuracy *convertAccuracy `json:"accuracy,omitempty"`
}

// calibrationInfo describes the calibration images.
type calibrationInfo struct {
	// Source is "mnist-train" or the calibration file's path.
	Source string `json:"source"`
	Images int    `json:"images"`
	Degree int    `json:"degree"`
	// Range is the smallest and largest calibration value.
	Range [2]float64 `json:"range"`
}

// fittedInfo describes one polynomial activation of the converted network.
type fittedInfo struct {
	Layer    int        `json:"layer"`
	Function string     `json:"function"`
	Degree   int        `json:"degree"`
	Interval [2]float64 `json:"interval"`
	// MaxError is the largest |p(x) − f(x)| over the interval.
	MaxError float64   `json:"max_error"`
	Coeffs   []float64 `json:"coefficients"`
}

// encryptionInfo is the result of compiling the converted network with the default
// options (the packing compile.Auto chooses, at the smallest 128-bit parameter set
// that fits), or the reason it fits in none.
type encryptionInfo struct {
	// Error is set, and nothing else, when the network cannot be compiled.
	Error string `json:"error,omitempty"`
	*planSummary
	// PackingChoice says how the packing was chosen, and why others could not hold
	// the network.
	PackingChoice *compile.Choice `json:"packing_choice,omitempty"`
}

// planSummary describes a compiled plan: its parameters, levels and precision.
type planSummary struct {
	Packing string `json:"packing"`
	paramsInfo
	// MaxLevel is the parameter set's top level; the input is encrypted at
	// InputLevel and the logits arrive at OutputLevel.
	MaxLevel       int     `json:"max_level"`
	InputLevel     int     `json:"input_level"`
	OutputLevel    int     `json:"output_level"`
	PrecisionBits  float64 `json:"precision_bits"`
	ImagesPerBatch int     `json:"images_per_batch"`
	// Guarantee says what the plan's value bounds hold for (proven or calibrated).
	Guarantee   string `json:"guarantee"`
	Relinearize bool   `json:"relinearize"`
}

// convertAccuracy compares the plaintext networks before and after conversion.
type convertAccuracy struct {
	// Data names the records: "mnist-test", or the --test-data files.
	Data   string `json:"data"`
	Images int    `json:"images"`
	// Before and After are the accuracies, when the true labels are known.
	Before *float64 `json:"before,omitempty"`
	After  *float64 `json:"after,omitempty"`
	// Agreement is the fraction of images whose argmax is the same before and after.
	Agreement float64 `json:"agreement"`
}

// convertFlags are the options of convert.
type convertFlags struct {
	dst             string
	calibration     int
	calibrationFile string
	// calibrationLabels and calibrationLabelColumn give the labels of the records
	// of calibrationFile.
	calibrationLabels      string
	calibrationLabelColumn string
	degree                 int
	fit                    string
	testImages             int
	testData               stringList
	testLabels             string
	testLabelColumn        string
	margin                 float64
	budget                 float64
	agreement              float64
	force                  bool
	inputRange             string
	normalize              string
	// calibrationSet is true when --calibration was given explicitly.
	calibrationSet bool
}

// check validates the flag values against each other.
func (f *convertFlags) check(src string) error {
	if filepath.Clean(f.dst) == filepath.Clean(src) {
		return errs.New(errs.ErrInvalidArgument, "output %s would overwrite the input; choose another -o", f.dst)
	}
	switch {
	case f.calibrationSet && f.calibrationFile != "":
		return errs.New(errs.ErrInvalidArgument, "give --calibration or --calibration-file, not both")
	case f.calibration < 1:
		return errs.New(errs.ErrInvalidArgument, "--calibration %d: must be 1 or more", f.calibration)
	case f.degree < 0 || f.degree > rewrite.MaxDegree:
		return errs.New(errs.ErrInvalidArgument, "--degree %d: must be 0 (chosen within the budget) or 1 to %d", f.degree, rewrite.MaxDegree)
	case !(f.margin > 0 && f.margin <= 1000):
		return errs.New(errs.ErrInvalidArgument, "--margin %g: want a percentage above 0, at most 1000", f.margin)
	case f.budget < 0 || f.budget > 100 || f.agreement < 0 || f.agreement > 100:
		return errs.New(errs.ErrInvalidArgument, "--budget %g, --agreement %g: want percentages", f.budget, f.agreement)
	case f.testImages < 0:
		return errs.New(errs.ErrInvalidArgument, "--test-images %d: must be 0 or more", f.testImages)
	case f.testImages > 0 && len(f.testData) > 0:
		return errs.New(errs.ErrInvalidArgument, "give --test-images or --test-data, not both")
	case f.calibrationFile == "" && (f.calibrationLabels != "" || f.calibrationLabelColumn != ""):
		return errs.New(errs.ErrInvalidArgument, "--calibration-labels and --calibration-label-column go with --calibration-file")
	case len(f.testData) == 0 && (f.testLabels != "" || f.testLabelColumn != ""):
		return errs.New(errs.ErrInvalidArgument, "--test-labels and --test-label-column go with --test-data")
	case f.fit != "data" && f.fit != "uniform":
		return errs.New(errs.ErrInvalidArgument, "--fit %q: want data or uniform", f.fit)
	}
	return nil
}

// runConvert is the convert command.
func runConvert(c *cli, args []string) error {
	fs := c.flags("MODEL.onnx [-o MODEL.cnm] [--calibration N | --calibration-file FILE [--calibration-labels FILE | --calibration-label-column NAME]] [--degree D] [--budget POINTS | --agreement PERCENT] [--margin PERCENT] [--force] [--input-range LO,HI] [--normalize MEANS/STDS] [--fit data|uniform] [--test-images N | --test-data FILE [--test-labels FILE]] [--json]", `
Imports an ONNX network and converts it for encrypted evaluation: drops the final
softmax (or log-softmax, sigmoid, tanh), folds batch normalization and input
normalization into the neighbouring linear layers, replaces max pooling by a scaled
sum pool, replaces every ReLU, sigmoid, tanh, GELU or SiLU by a polynomial, and
merges adjacent linear layers where that saves multiply-adds.

Each activation gets the polynomial of least multiplicative depth (degree 2, then 3
or 4, 6 or 8, …), interval and fit that keep the converted network within a budget
on the calibration records: at most --budget points of accuracy lost (when they
have labels: MNIST's, a CSV label column), or at least --agreement percent of
unchanged predictions (without). A network outside the budget is not written unless
--force is given: fine-tune it with its polynomials and sum pools in place
(cryptonets.finetune in Python). --degree fixes every polynomial's degree instead.

Prints the layers before and after, the rewrites, each polynomial with its fit and
the share of calibration inputs outside its interval, the accuracy before and after
on the calibration records, the CKKS parameters and packing the network gets (and
why others cannot hold it), and the plaintext accuracy before and after conversion:
on the first N MNIST test images (--test-images), or on your own records
(--test-data, `+dataset.Formats+`) against --test-labels or the labels the data
carry (a CSV --test-label-column). Writes the model file only when everything
succeeded.

Calibration records are the first N MNIST training images with their labels
(--calibration), or your own records (--calibration-file: the formats of
--test-data, or raw little-endian float64 values of the network's input size per
record, channel-major), as clients will send them; image pixels are value/255 in
[0, 1]. When calibration values leave the model's input range ([0, 1] for images),
the ranges come from them, per channel, widened by --margin (10 %); --input-range declares them
instead. --normalize declares the per-channel (x − mean)/std the network was trained
with, when its graph does not do it: clients then send raw values. Networks whose
activations are all x² need no calibration, but it lets the conversion measure the
cost of a max pool and record the calibration that calibrated precision plans use.`)
	f := &convertFlags{}
	fs.StringVar(&f.dst, "o", "", "converted model file to write (default: MODEL.cnm next to MODEL.onnx)")
	fs.IntVar(&f.calibration, "calibration", defaultCalibration, "calibrate on the first `N` MNIST training images")
	fs.StringVar(&f.calibrationFile, "calibration-file", "", "calibrate on the records of `FILE` (as --test-data, or raw little-endian float64, N × input size)")
	fs.StringVar(&f.calibrationLabels, "calibration-labels", "", "the true labels of --calibration-file: `FILE` (.npy, IDX, or CSV/text with one label per line)")
	fs.StringVar(&f.calibrationLabelColumn, "calibration-label-column", "", "the `NAME` of the label column of a --calibration-file CSV file")
	fs.IntVar(&f.degree, "degree", 0, fmt.Sprintf("degree `D` of every polynomial (1 to %d; 0: chosen per activation within the budget)", rewrite.MaxDegree))
	fs.Float64Var(&f.budget, "budget", rewrite.DefaultBudgetPoints, "accuracy `POINTS` the conversion may lose on labelled calibration records")
	fs.Float64Var(&f.agreement, "agreement", 100*rewrite.DefaultAgreement, "least `PERCENT` of unchanged predictions on unlabelled calibration records")
	fs.Float64Var(&f.margin, "margin", 100*rewrite.DefaultMargin, "widen the ranges seen on the calibration records (each activation's inputs, and each input channel when the data leave the model's range) by `PERCENT` of their span on each side")
	fs.BoolVar(&f.force, "force", false, "write the converted network even outside the budget")
	fs.StringVar(&f.inputRange, "input-range", "", "declared range `LO,HI` of the raw input values")
	fs.StringVar(&f.normalize, "normalize", "", "per-channel normalization the network expects, `MEANS/STDS` (e.g. 0.485,0.456,0.406/0.229,0.224,0.225)")
	fs.StringVar(&f.fit, "fit", "data", "with --degree, where the polynomials are accurate: `data` (weighted by where the calibration inputs lie) or uniform (evenly over the interval)")
	fs.IntVar(&f.testImages, "test-images", 0, "check plaintext accuracy on the first `N` MNIST test images (0: skip)")
	fs.Var(&f.testData, "test-data", "check plaintext accuracy on the records of `FILE` (repeat for more)")
	fs.StringVar(&f.testLabels, "test-labels", "", "the true labels of --test-data: `FILE` (.npy, IDX, or CSV/text with one label per line)")
	fs.StringVar(&f.testLabelColumn, "test-label-column", "", "the `NAME` of the label column of a --test-data CSV file")
	out := outputFlags(fs)
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	fs.Visit(func(fl *flag.Flag) { f.calibrationSet = f.calibrationSet || fl.Name == "calibration" })
	src := pos[0]
	if f.dst == "" {
		f.dst = strings.TrimSuffix(src, filepath.Ext(src)) + ".cnm"
	}
	if err := f.check(src); err != nil {
		return err
	}
	rep, converted, err := convert(c, src, f)
	if err != nil {
		return err
	}
	data, err := converted.MarshalBinary()
	if err != nil {
		return err
	}
	if err := writeBytes(f.dst, 0o644, data); err != nil {
		return err
	}
	rep.FileBytes = int64(len(data))
	return c.emit(out, rep)
}

// convert imports and converts src and builds the report; it writes nothing.
func convert(c *cli, src string, f *convertFlags) (*convertReport, *model.Model, error) {
	imported, err := onnx.ImportFile(src)
	if err != nil {
		return nil, nil, err
	}
	rep := &convertReport{Source: src, Output: f.dst}
	opts, err := f.options(imported)
	if err != nil {
		return nil, nil, err
	}
	if rewrite.NeedsCalibration(imported) || f.calibrationSet || f.calibrationFile != "" || checkMNISTInput(imported, "") == nil {
		var labels []int
		if opts.Calibration, labels, rep.Calibration, err = calibrationImages(imported, f); err != nil {
			if rewrite.NeedsCalibration(imported) || f.calibrationSet || f.calibrationFile != "" {
				return nil, nil, err
			}
			rep.Calibration = nil // optional, and not available
		}
		opts.Labels = labels
	}
	converted, conv, err := rewrite.ConvertReport(imported, opts)
	rep.Conversion = conv
	if err != nil {
		if conv != nil {
			c.warn("%s", conversionSummary(conv))
		}
		return nil, nil, err
	}
	converted.Provenance.Converter = "cryptonets convert"
	if cal := rep.Calibration; cal != nil {
		converted.Provenance.Notes += fmt.Sprintf("; activations calibrated on %d images (%s)", cal.Images, cal.Source)
	}
	rep.Rewrites = converted.Provenance.Rewrites
	if rep.Before, err = describe(imported); err != nil {
		return nil, nil, err
	}
	if rep.After, err = describe(converted); err != nil {
		return nil, nil, err
	}
	rep.Fitted = fittedActivations(converted)
	rep.Encryption = encryptionNeeds(converted)
	if rep.Encryption.Error != "" {
		c.warn("the converted network cannot be evaluated on encrypted data: %s", rep.Encryption.Error)
	}
	if f.testImages > 0 || len(f.testData) > 0 {
		test, err := f.testSet(imported)
		if err != nil {
			return nil, nil, err
		}
		if rep.Accuracy, err = compareAccuracy(imported, converted, test); err != nil {
			return nil, nil, err
		}
		rep.Accuracy.Data = "mnist-test"
		if len(f.testData) > 0 {
			rep.Accuracy.Data = f.testData.String()
		}
	}
	return rep, converted, nil
}

// options returns the conversion options the flags ask for (without calibration).
func (f *convertFlags) options(m *model.Model) (rewrite.Options, error) {
	opts := rewrite.Options{ApproxOptions: rewrite.ApproxOptions{Degree: f.degree, Margin: f.margin / 100}, RangeMargin: f.margin / 100,
		Budget: rewrite.Budget{Points: f.budget, Agreement: f.agreement / 100, Exceed: f.force}}
	if f.fit == "uniform" {
		opts.Weighting = rewrite.WeightUniform
	}
	if f.inputRange != "" {
		v, err := parseFloats(f.inputRange, "--input-range")
		if err != nil {
			return opts, err
		}
		if len(v) != 2 || !(v[0] < v[1]) {
			return opts, errs.New(errs.ErrInvalidArgument, "--input-range %q: want LO,HI with LO < HI", f.inputRange)
		}
		opts.InputRange = &[2]float64{v[0], v[1]}
	}
	if f.normalize != "" {
		means, stds, ok := strings.Cut(f.normalize, "/")
		if !ok {
			return opts, errs.New(errs.ErrInvalidArgument, "--normalize %q: want MEANS/STDS, one per input channel", f.normalize)
		}
		mv, err := parseFloats(means, "--normalize")
		if err != nil {
			return opts, err
		}
		sv, err := parseFloats(stds, "--normalize")
		if err != nil {
			return opts, err
		}
		if len(mv) != m.Input.C || len(sv) != m.Input.C {
			return opts, errs.New(errs.ErrInvalidArgument, "--normalize: %d means and %d stds for the %d input channels", len(mv), len(sv), m.Input.C)
		}
		opts.Normalize = &model.Normalization{Mean: mv, Std: sv}
	}
	return opts, nil
}

// parseFloats parses comma-separated numbers.
func parseFloats(s, flag string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errs.New(errs.ErrInvalidArgument, "%s: %q is not a number", flag, part)
		}
		out = append(out, v)
	}
	return out, nil
}

// conversionSummary says in a line what the conversion cost against its budget.
func conversionSummary(r *rewrite.Report) string {
	if r.Labeled {
		s := fmt.Sprintf("accuracy on %d calibration images: %.2f %% before, %.2f %% after (budget: %.2g points lost)",
			r.Inputs, 100*r.Before, 100*r.After, r.Budget.Points)
		if r.Linear != nil {
			s += fmt.Sprintf("; with the sum pools alone, exact activations: %.2f %%", 100**r.Linear)
		}
		return s
	}
	return fmt.Sprintf("argmax agreement with the original on %d calibration images: %.2f %% (budget: %.2f %%)",
		r.Inputs, 100*r.Agreement, 100*r.Budget.Agreement)
}

// calibrationImages reads the calibration images that f asks for, and their labels
// when they have them.
func calibrationImages(m *model.Model, f *convertFlags) ([][]float64, []int, *calibrationInfo, error) {
	info := &calibrationInfo{Source: f.calibrationFile, Degree: f.degree}
	var images [][]float64
	var labels []int
	var err error
	switch {
	case f.calibrationFile != "" && dataset.Format(f.calibrationFile) != "":
		var set *dataset.Set
		if set, err = dataset.Read(f.calibrationFile, dataset.Options{Shape: m.Input, LabelColumn: f.calibrationLabelColumn}); err == nil {
			images, labels = set.Records, set.Labels
		}
	case f.calibrationFile != "":
		images, err = readImages(f.calibrationFile, m.Input)
	default:
		info.Source = "mnist-train"
		images, labels, err = mnistTrainImages(m, f.calibration)
	}
	if err == nil && f.calibrationLabels != "" {
		if labels, err = dataset.ReadLabels(f.calibrationLabels); err == nil && len(labels) != len(images) {
			err = errs.New(errs.ErrMismatch, "--calibration-labels %s: %d labels for %d records", f.calibrationLabels, len(labels), len(images))
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	info.Images = len(images)
	info.Range = [2]float64{math.Inf(1), math.Inf(-1)}
	for _, x := range images {
		for _, v := range x {
			info.Range[0], info.Range[1] = math.Min(info.Range[0], v), math.Max(info.Range[1], v)
		}
	}
	return images, labels, info, nil
}

// checkMNISTInput checks that m takes MNIST images; what names the flag that needs them.
func checkMNISTInput(m *model.Model, what string) error {
	if want := (model.Shape{C: 1, H: 28, W: 28}); m.Input != want {
		return errs.New(errs.ErrInvalidArgument, "%s needs MNIST images (%v), but the network takes %v images; "+
			"give your own calibration images with --calibration-file", what, want, m.Input)
	}
	return nil
}

// mnistTrainImages returns the first n MNIST training images and their labels, for m.
func mnistTrainImages(m *model.Model, n int) ([][]float64, []int, error) {
	if err := checkMNISTInput(m, fmt.Sprintf("calibration on MNIST (--calibration %d)", n)); err != nil {
		return nil, nil, err
	}
	set, err := dataset.MNIST(dataset.MNISTTrain, n)
	if err != nil {
		return nil, nil, err
	}
	if len(set.Records) < n {
		return nil, nil, errs.New(errs.ErrInvalidArgument, "--calibration %d: the MNIST training set has %d images", n, len(set.Records))
	}
	return set.Records, set.Labels, nil
}

// readImages reads a file of raw little-endian float64 images of the given shape.
func readImages(path string, shape model.Shape) ([][]float64, error) {
	data, err := readFile(path, "calibration file")
	if err != nil {
		return nil, err
	}
	per := 8 * shape.Size()
	if len(data) == 0 || len(data)%per != 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "calibration file %s: %d bytes is not a whole number of %v images of float64 values (%d bytes each)",
			path, len(data), shape, per)
	}
	images := make([][]float64, len(data)/per)
	for i := range images {
		images[i] = make([]float64, shape.Size())
		for k := range images[i] {
			images[i][k] = math.Float64frombits(binary.LittleEndian.Uint64(data[i*per+8*k:]))
		}
	}
	return images, nil
}

// fittedActivations lists the polynomial activations of m.
func fittedActivations(m *model.Model) []fittedInfo {
	fitted := []fittedInfo{}
	for i, l := range m.Layers {
		if p, ok := l.(*model.Polynomial); ok {
			fitted = append(fitted, fittedInfo{Layer: i, Function: p.Fitted, Degree: p.Degree(),
				Interval: p.Interval, MaxError: p.FitError, Coeffs: p.Coeffs})
		}
	}
	return fitted
}

// encryptionNeeds compiles m with the default options and describes the plan.
func encryptionNeeds(m *model.Model) *encryptionInfo {
	p, choice, err := compile.Choose(m, compile.Options{})
	if err != nil {
		return &encryptionInfo{Error: oneLine(err.Error())}
	}
	man := p.Manifest()
	pi, err := describeParams(&man)
	if err != nil {
		return &encryptionInfo{Error: oneLine(err.Error())}
	}
	return &encryptionInfo{planSummary: &planSummary{Packing: string(man.Packing), paramsInfo: pi, MaxLevel: p.Parameters().MaxLevel(),
		InputLevel: man.InputLevel, OutputLevel: man.OutputLevel, PrecisionBits: round(p.PrecisionBits(), 2),
		ImagesPerBatch: man.ImagesPerBatch, Guarantee: guarantee(&man), Relinearize: man.Relinearize}, PackingChoice: &choice}
}

// testSet reads the records --test-images or --test-data ask for, for model m.
func (f *convertFlags) testSet(m *model.Model) (*dataset.Set, error) {
	if len(f.testData) == 0 {
		if err := checkMNISTInput(m, "--test-images"); err != nil {
			return nil, err
		}
		set, err := dataset.MNIST(dataset.MNISTTest, 0)
		if err != nil {
			return nil, err
		}
		if f.testImages > set.Len() {
			return nil, errs.New(errs.ErrInvalidArgument, "--test-images %d: the MNIST test set has %d images", f.testImages, set.Len())
		}
		return set.First(f.testImages), nil
	}
	set, err := dataset.ReadAll(f.testData, dataset.Options{Shape: m.Input, LabelColumn: f.testLabelColumn})
	if err != nil {
		return nil, err
	}
	if f.testLabels != "" {
		if set.Labels, err = dataset.ReadLabels(f.testLabels); err != nil {
			return nil, err
		}
		if len(set.Labels) != set.Len() {
			return nil, errs.New(errs.ErrMismatch, "--test-labels %s: %d labels for %d records", f.testLabels, len(set.Labels), set.Len())
		}
	}
	return set, nil
}

// compareAccuracy evaluates both plaintext networks on the records of set, prepared
// as the converted model's clients prepare them, and compares them with the labels
// when set has them.
func compareAccuracy(before, after *model.Model, set *dataset.Set) (*convertAccuracy, error) {
	// The original takes the inputs the converted model takes: the conversion may
	// have set their ranges from calibration data.
	original := *before
	original.InputRange, original.ChannelRanges = after.InputRange, after.ChannelRanges
	lb, err := original.Predict(set.Records, set.Name)
	if err != nil {
		return nil, err
	}
	la, err := after.Predict(set.Records, set.Name)
	if err != nil {
		return nil, err
	}
	acc := &convertAccuracy{Images: set.Len(), Agreement: agreement(lb, la)}
	if set.Labels != nil {
		b, a := accuracy(lb, set.Labels), accuracy(la, set.Labels)
		acc.Before, acc.After = &b, &a
	}
	return acc, nil
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
	if cal := r.Calibration; cal != nil {
		src := "the first MNIST training images"
		if cal.Source != "mnist-train" {
			src = cal.Source
		}
		degrees := "polynomial degrees chosen per activation"
		if cal.Degree > 0 {
			degrees = fmt.Sprintf("degree-%d polynomials", cal.Degree)
		}
		fmt.Fprintf(w, "calibration: %d images (%s), values in [%g, %g]; %s\n",
			cal.Images, src, cal.Range[0], cal.Range[1], degrees)
	}
	fmt.Fprintf(w, "\nbefore (imported, %d layers):\n", len(r.Before.Layers))
	writeLayers(w, r.Before)
	fmt.Fprintf(w, "\nafter (converted, %d layers):\n", len(r.After.Layers))
	writeLayers(w, r.After)
	fmt.Fprintf(w, "\nrewrites:\n")
	if len(r.Rewrites) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, rw := range r.Rewrites {
		fmt.Fprintf(w, "  %s\n", rw)
	}
	if cv := r.Conversion; cv != nil && len(cv.Activations) > 0 {
		fmt.Fprintf(w, "\nfitted activations (chosen on the calibration images):\n")
		for _, a := range cv.Activations {
			fmt.Fprintf(w, "  layer %d: %s ≈ degree-%d polynomial on [%.4g, %.4g] (%s, %s fit), max error %.3g, rms %.3g, %.3g %% of the inputs outside\n",
				a.Layer, a.Function, a.Degree, a.Interval[0], a.Interval[1], a.IntervalFrom, a.Fit, a.MaxError, a.RMSError, 100*a.Outside)
		}
	} else if len(r.Fitted) > 0 {
		fmt.Fprintf(w, "\npolynomial activations:\n")
		for _, p := range r.Fitted {
			origin := p.Function
			if origin == "" {
				origin = "trained"
			}
			fmt.Fprintf(w, "  layer %d: %s degree-%d polynomial on [%.4g, %.4g]\n", p.Layer, origin, p.Degree, p.Interval[0], p.Interval[1])
		}
	}
	if cv := r.Conversion; cv != nil {
		within := "within the budget"
		if !cv.WithinBudget {
			within = "OUTSIDE the budget (--force)"
		}
		fmt.Fprintf(w, "\nconversion cost: %s; %s; total depth of the activations %d\n", conversionSummary(cv), within, cv.Depth)
	}
	if e := r.Encryption; e.Error != "" {
		fmt.Fprintf(w, "\nencrypted evaluation: not possible: %s\n", e.Error)
	} else {
		fmt.Fprintf(w, "\nencrypted evaluation (%s packing):\n", e.Packing)
		t := newTable(w)
		t.row("parameters", "%s: log N = %d, log QP = %.1f, %d-bit, %d images per batch", e.Name, e.LogN, e.LogQP, e.SecurityBits, e.ImagesPerBatch)
		t.row("levels", "%d available; input at level %d, output at level %d", e.MaxLevel, e.InputLevel, e.OutputLevel)
		t.row("planned precision", "%.1f bits", e.PrecisionBits)
		t.row("value bounds", "%s", map[string]string{"proven": "proven for every input in range",
			"calibrated": "calibrated, with monitors: inputs beyond the calibration are errors at decryption"}[e.Guarantee])
		t.row("evaluation keys", "%s", map[bool]string{true: "a relinearization key", false: "none"}[e.Relinearize])
		if e.PackingChoice != nil {
			t.row("packing", "%s", e.PackingChoice)
		}
		t.flush()
	}
	if a := r.Accuracy; a != nil {
		if a.Data == "mnist-test" {
			fmt.Fprintf(w, "\nplaintext accuracy on the first %d MNIST test images:\n", a.Images)
		} else {
			fmt.Fprintf(w, "\nplaintext accuracy on %d records of %s:\n", a.Images, a.Data)
		}
		t := newTable(w)
		if a.Before != nil {
			t.row("before (imported, with softmax)", "%s", percent(*a.Before))
			t.row("after conversion", "%s", percent(*a.After))
		}
		t.row("argmax agreement", "%s", percent(a.Agreement))
		t.flush()
	}
}
