package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/wire"
)

// compileFlags are the compilation options; manifest, predict, demo and bench share
// them, and the model owner and the server must use the same ones.
type compileFlags struct {
	params   string
	insecure bool
	packing  string
	expected int
	// choice is how the last compile chose its plan.
	choice compile.Choice
}

// addCompileFlags registers --params and --insecure on fs.
func addCompileFlags(fs *flag.FlagSet) *compileFlags {
	f := &compileFlags{}
	names := []string{}
	for _, p := range params.All() {
		names = append(names, p.Name)
	}
	fs.StringVar(&f.params, "params", "", "CKKS parameter set `NAME`: "+strings.Join(names, ", ")+" (default: the smallest 128-bit set that fits)")
	fs.BoolVar(&f.insecure, "insecure", false, "allow an Insecure… parameter set (tests only: NOT secure)")
	fs.StringVar(&f.packing, "packing", "auto", "`PACKING` of images in ciphertexts: batch (thousands at once), single (one or a few per request: low latency) or auto (the fastest for --expect images)")
	fs.IntVar(&f.expected, "expect", 0, "images per request `N` that --packing auto chooses for (default: the number of images the command handles, else a full batch or more)")
	return f
}

// compile compiles m with the flags' options for a caller that has images images
// (0: a full batch or more): without --expect, auto chooses the packing for that
// count. It warns on stderr about insecure parameters, and records in f.choice how
// the packing was chosen.
func (f *compileFlags) compile(c *cli, m *model.Model, images int) (compile.Plan, error) {
	expected := f.expected
	if expected == 0 {
		expected = images
	}
	p, choice, err := compile.Choose(m, compile.Options{Params: f.params, AllowInsecure: f.insecure,
		Packing: manifest.Packing(f.packing), ExpectedImages: expected})
	if err != nil {
		if errors.Is(err, errs.ErrInsecure) && !f.insecure {
			return nil, fmt.Errorf("%w (add --insecure to use it, for tests only)", err)
		}
		return nil, err
	}
	f.choice = choice
	if man := p.Manifest(); man.Insecure {
		c.warn("parameter set %s is NOT secure; use it for tests only", man.Params)
	}
	return p, nil
}

// paramsInfo describes a manifest's CKKS parameters.
type paramsInfo struct {
	Name         string  `json:"params"`
	Insecure     bool    `json:"insecure"`
	LogN         int     `json:"log_n"`
	LogQP        float64 `json:"log_qp"`
	SecurityBits int     `json:"security_bits"`
	Slots        int     `json:"slots"`
	Fingerprint  string  `json:"params_fingerprint"`
}

// describeParams builds the description of the manifest's parameters. SecurityBits is
// 0 for sets below 128 bits.
func describeParams(m *manifest.Manifest) (paramsInfo, error) {
	prm, err := m.Parameters()
	if err != nil {
		return paramsInfo{}, err
	}
	bits, _ := params.SecurityBits(prm)
	return paramsInfo{Name: m.Params, Insecure: m.Insecure, LogN: prm.LogN(), LogQP: round(prm.LogQP(), 2),
		SecurityBits: bits, Slots: prm.MaxSlots(), Fingerprint: m.ParamsFingerprint.String()}, nil
}

// manifestInfo is the public content of a manifest.
type manifestInfo struct {
	Model            string `json:"model"`
	Packing          string `json:"packing"`
	ModelFingerprint string `json:"model_fingerprint"`
	PlanFingerprint  string `json:"plan_fingerprint"`
	paramsInfo
	Input          string     `json:"input"`
	InputRange     [2]float64 `json:"input_range"`
	InputLogScale  int        `json:"input_log_scale"`
	InputLevel     int        `json:"input_level"`
	Outputs        int        `json:"outputs"`
	OutputLevel    int        `json:"output_level"`
	OutputDegree   int        `json:"output_degree"`
	OutputLogScale float64    `json:"output_log_scale"`
	OutputBound    float64    `json:"output_bound"`
	ImagesPerBatch int        `json:"images_per_batch"`
	GaloisElements []uint64   `json:"galois_elements"`
	Relinearize    bool       `json:"relinearize"`
	// ChannelRanges are the per-channel input ranges, when the model has them.
	ChannelRanges [][2]float64 `json:"channel_ranges,omitempty"`
	// Preprocessing is the normalization the model applies to the raw inputs.
	Preprocessing *model.Normalization `json:"preprocessing,omitempty"`
	// Guarantee is what the plan's value bounds hold for ("proven" or
	// "calibrated"), Monitors the layers a calibrated plan monitors.
	Guarantee string `json:"guarantee"`
	Monitors  []int  `json:"monitors,omitempty"`
	// Positions and CheckInputs describe the integrity checks: the image positions
	// of a request, and the check inputs whose logits the manifest publishes.
	Positions   int `json:"positions"`
	CheckInputs int `json:"check_inputs"`
}

// describeManifest builds the description of m.
func describeManifest(m *manifest.Manifest) (*manifestInfo, error) {
	pi, err := describeParams(m)
	if err != nil {
		return nil, err
	}
	fp := m.Fingerprint()
	return &manifestInfo{Model: m.Model, Packing: string(m.Packing), ModelFingerprint: hex.EncodeToString(m.ModelFingerprint[:]),
		PlanFingerprint: hex.EncodeToString(fp[:]), paramsInfo: pi, Input: m.Input.String(), InputRange: m.InputRange,
		InputLogScale: m.InputLogScale, InputLevel: m.InputLevel, Outputs: m.Outputs, OutputLevel: m.OutputLevel,
		OutputDegree: m.OutputDegree, OutputLogScale: round(m.OutputLogScale, 4), OutputBound: m.OutputBound,
		ImagesPerBatch: m.ImagesPerBatch, GaloisElements: append([]uint64{}, m.GaloisElements...), Relinearize: m.Relinearize,
		ChannelRanges: m.ChannelRanges, Preprocessing: m.Preprocessing, Guarantee: guarantee(m), Monitors: m.Monitors,
		Positions: m.Checks.Positions, CheckInputs: len(m.Checks.Candidates)}, nil
}

// writeText implements report.
func (mi *manifestInfo) writeText(w io.Writer) {
	t := newTable(w)
	t.row("model", "%s (fingerprint %s)", mi.Model, mi.ModelFingerprint)
	t.row("plan fingerprint", "%s", mi.PlanFingerprint)
	t.row("packing", "%s, %d images per batch", mi.Packing, mi.ImagesPerBatch)
	sec := fmt.Sprintf("%d-bit", mi.SecurityBits)
	if mi.Insecure || mi.SecurityBits == 0 {
		sec = "INSECURE (tests only)"
	}
	t.row("parameters", "%s: log N = %d, log QP = %.1f, %s, %d slots", mi.Name, mi.LogN, mi.LogQP, sec, mi.Slots)
	t.row("params fingerprint", "%s", mi.Fingerprint)
	t.row("input", "%s values in [%g, %g], scale 2^%d, level %d", mi.Input, mi.InputRange[0], mi.InputRange[1], mi.InputLogScale, mi.InputLevel)
	t.row("output", "%d logits, degree %d, level %d, scale 2^%.2f, |logit| ≤ %.4g", mi.Outputs, mi.OutputDegree, mi.OutputLevel, mi.OutputLogScale, mi.OutputBound)
	t.row("evaluation keys", "relinearization %v, %d Galois elements", mi.Relinearize, len(mi.GaloisElements))
	if mi.Preprocessing != nil {
		t.row("preprocessing", "(x − mean)/std per channel, in the model: mean %v, std %v", mi.Preprocessing.Mean, mi.Preprocessing.Std)
	}
	if len(mi.ChannelRanges) > 0 {
		t.row("channel ranges", "%s", channelRanges(mi.ChannelRanges))
	}
	switch mi.Guarantee {
	case "calibrated":
		t.row("guarantee", "calibrated bounds: %d monitors (layers %v) turn inputs beyond the calibration into errors at decryption", len(mi.Monitors), mi.Monitors)
	default:
		t.row("guarantee", "proven bounds: no input in range can overflow")
	}
	t.row("integrity checks", "%d check inputs fill the positions of %d that a request's images leave", mi.CheckInputs, mi.Positions)
	t.flush()
}

// guarantee is the manifest's guarantee, "proven" when it names none.
func guarantee(m *manifest.Manifest) string {
	if m.Guarantee == "" {
		return "proven"
	}
	return m.Guarantee
}

// channelRanges formats per-channel ranges, the first few of them.
func channelRanges(r [][2]float64) string {
	const shown = 4
	parts := make([]string, 0, shown+1)
	for c, v := range r[:min(len(r), shown)] {
		parts = append(parts, fmt.Sprintf("%d: [%.4g, %.4g]", c, v[0], v[1]))
	}
	if len(r) > shown {
		parts = append(parts, fmt.Sprintf("… (%d channels)", len(r)))
	}
	return strings.Join(parts, ", ")
}

// manifestReport is the output of manifest.
type manifestReport struct {
	Output        string         `json:"output"`
	Bytes         int64          `json:"bytes"`
	PrecisionBits float64        `json:"precision_bits"`
	Steps         []packing.Step `json:"steps"`
	Manifest      *manifestInfo  `json:"manifest"`
	// PackingChoice says how the packing was chosen, and why others could not hold
	// the network.
	PackingChoice compile.Choice `json:"packing_choice"`
}

// writeText implements report.
func (r *manifestReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "wrote manifest %s (%s)\n", r.Output, byteSize(r.Bytes))
	r.Manifest.writeText(w)
	fmt.Fprintf(w, "  packing: %s\n", r.PackingChoice)
	fmt.Fprintf(w, "  planned precision: %.1f bits\n  steps:\n", r.PrecisionBits)
	for i, s := range r.Steps {
		fmt.Fprintf(w, "    %2d %-22s %5d -> %5d ciphertexts, level %d, degree %d, scale 2^%.1f, bound %.3g\n",
			i, s.Kind, s.Inputs, s.Outputs, s.Level, s.Degree, s.LogScale, s.Bound)
	}
}

// runManifest is the manifest command (model owner).
func runManifest(c *cli, args []string) error {
	fs := c.flags("MODEL.cnm -o manifest.bin [--params NAME] [--insecure] [--json]", `
Model owner: compiles a converted model and writes its sealed public manifest (input
shape, CKKS parameters, packing, output layout; no weights). Clients need it to make
keys, encrypt and decrypt. The server compiles with the same --params/--insecure.`)
	dst := fs.String("o", "", "manifest file to write (required)")
	cf := addCompileFlags(fs)
	out := outputFlags(fs)
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := required(fs, "o"); err != nil {
		return err
	}
	m, err := loadConverted(pos[0])
	if err != nil {
		return err
	}
	p, err := cf.compile(c, m, 0)
	if err != nil {
		return err
	}
	man := p.Manifest()
	data, err := wire.EncodeManifest(&man)
	if err != nil {
		return err
	}
	if err := writeBytes(*dst, 0o644, data); err != nil {
		return err
	}
	mi, err := describeManifest(&man)
	if err != nil {
		return err
	}
	return c.emit(out, &manifestReport{Output: *dst, Bytes: int64(len(data)), PrecisionBits: round(p.PrecisionBits(), 2),
		Steps: p.Steps(), Manifest: mi, PackingChoice: cf.choice})
}
