// Package manifest holds the public manifest of a compiled model: everything a client
// needs to make keys for it, encrypt inputs for it and decrypt its results, and
// nothing of its weights.
package manifest

import (
	"crypto/sha256"
	"fmt"
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/cbor"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Packing names how images are laid out in ciphertext slots; the packings themselves
// (package packing and its subpackages) define the names.
type Packing string

// The largest manifests: ciphertexts per request or result, Galois keys, and the
// packing's layout description.
const (
	maxCiphertexts    = 1 << 16
	maxGaloisElements = 512
	maxLayoutBytes    = 64 << 20
)

// ResultLayout says where the logits are in a result: logit j of image i is in
// ciphertext j / PerCiphertext, at slot (j mod PerCiphertext)·ValueStride +
// i·ImageStride.
type ResultLayout struct {
	Ciphertexts   int `codec:"ciphertexts"`
	PerCiphertext int `codec:"per_ciphertext"`
	ValueStride   int `codec:"value_stride"`
	ImageStride   int `codec:"image_stride"`
}

// Slot returns the ciphertext and slot of logit j of image i.
func (r ResultLayout) Slot(i, j int) (ciphertext, slot int) {
	return j / r.PerCiphertext, (j%r.PerCiphertext)*r.ValueStride + i*r.ImageStride
}

// Manifest is the public description of a compiled model.
type Manifest struct {
	Model    string  `codec:"model"`
	Packing  Packing `codec:"packing"`
	Params   string  `codec:"params"`
	Insecure bool    `codec:"insecure"`
	// ParamsFingerprint identifies the CKKS parameters.
	ParamsFingerprint params.Fingerprint `codec:"params_fingerprint"`
	// ModelFingerprint is a digest of the compiled model's weights and plan; it lets
	// a client tell which model produced a result without seeing the weights.
	ModelFingerprint [32]byte    `codec:"model_fingerprint"`
	Input            model.Shape `codec:"input"`
	InputRange       [2]float64  `codec:"input_range"`
	// InputLogScale is log2 of the scale the client encodes inputs at.
	InputLogScale int `codec:"input_log_scale"`
	// InputLevel is the level of input ciphertexts.
	InputLevel int `codec:"input_level"`
	// Outputs is the number of logits per image.
	Outputs int `codec:"outputs"`
	// OutputLevel, OutputDegree and OutputLogScale describe result ciphertexts.
	OutputLevel    int     `codec:"output_level"`
	OutputDegree   int     `codec:"output_degree"`
	OutputLogScale float64 `codec:"output_log_scale"`
	// OutputBound bounds |logit| for every input inside InputRange; a decrypted value
	// beyond it means the result is not trustworthy.
	OutputBound float64 `codec:"output_bound"`
	// ImagesPerBatch is the largest number of images one encrypted batch holds.
	ImagesPerBatch int `codec:"images_per_batch"`
	// GaloisElements lists the rotation keys the plan needs (none for batch packing),
	// in increasing order, and GaloisLevels the level in Q of each key.
	GaloisElements []uint64 `codec:"galois_elements"`
	GaloisLevels   []int    `codec:"galois_levels"`
	// Relinearize tells whether the plan needs a relinearization key (at the top level).
	Relinearize bool `codec:"relinearize"`
	// InputCiphertexts is the number of ciphertexts of one request.
	InputCiphertexts int `codec:"input_ciphertexts"`
	// Result is where the logits are in the ciphertexts of a result.
	Result ResultLayout `codec:"result"`
	// Layout is the packing's own description of where each input value goes
	// (encoded by the packing; empty when the packing needs none).
	Layout []byte `codec:"layout"`
	// Checks are the known answers a client hides among the images of every request
	// to check the decrypted result.
	Checks Checks `codec:"checks"`

	// Fields added since are optional: manifests written before them read unchanged.

	// ChannelRanges, when set, bounds each input channel (each feature of a record) on
	// its own; the client checks them (see model.Model.ChannelRanges).
	ChannelRanges [][2]float64 `codec:"channel_ranges,omitempty"`
	// Preprocessing is the normalization the network applies to the raw inputs
	// (folded into its first layer): the client encrypts the raw values.
	Preprocessing *model.Normalization `codec:"preprocessing,omitempty"`
	// InputScales, when set, are per-channel factors the client multiplies the
	// (checked) input values by before encoding them (batch packing).
	InputScales []float64 `codec:"input_scales,omitempty"`
	// Guarantee says what the plan's value bounds hold for: "proven" (every input in
	// range) or "calibrated" (inputs its monitors admit); empty means proven.
	Guarantee string `codec:"guarantee,omitempty"`
	// Monitors lists, for each monitor of a calibrated plan, the model layer whose
	// input it watches. Monitor k travels in result ciphertext Result.Ciphertexts + k,
	// image i in slot i·Result.ImageStride; a value above 1 means that image's values
	// left the calibrated range there, and its logits are not to be trusted.
	Monitors []int `codec:"monitors,omitempty"`
}

// ResultCiphertexts is the number of ciphertexts of a result: the logits' and the
// monitors'.
func (m *Manifest) ResultCiphertexts() int { return m.Result.Ciphertexts + len(m.Monitors) }

// Checks describe the integrity checks of results. A request has Positions image
// positions (the slots of a batch-packing request, the interleaved lanes of a
// single-packing one): its images take positions the client chooses at random and
// keeps secret, and check inputs fill every other position. The model owner publishes
// the plaintext logits of the check inputs; after decryption the client compares the
// logits at the check positions with them. A wrong key, a tampered result or another
// request's result fails that comparison with overwhelming probability.
type Checks struct {
	// Positions is the number of image positions of a request; at least one more
	// than ImagesPerBatch.
	Positions int `codec:"positions"`
	// Seed derives the check inputs (package packing, CheckInput).
	Seed [32]byte `codec:"seed"`
	// Candidates[c] is the draw from Seed that check input c is, and
	// Amplitudes[c] the exponent k of its spread: 2^-k of the input range.
	Candidates []uint32 `codec:"candidates"`
	Amplitudes []uint8  `codec:"amplitudes"`
	// Outputs[c] are the logits of check input c, computed in plaintext.
	Outputs [][]float64 `codec:"outputs"`
	// Tolerance[c][j] bounds the distance between logit j of check input c as an
	// honest evaluation decrypts it and Outputs[c][j].
	Tolerance [][]float64 `codec:"tolerance"`
}

// The bounds of Checks: the number of check inputs, their logits in all (which bounds
// the work of comparing every two), their input values in all (which the client
// draws), and the largest tolerance relative to the logits'
// scale (maxTolerance · (1 + |logit|)) a client accepts; a manifest with looser checks
// could let a wrong key's noise pass.
const (
	MinCheckInputs = 2
	MaxCheckInputs = 256
	maxCheckLogits = 1 << 18
	MaxCheckValues = 1 << 25
	maxTolerance   = 1.0 / 2
	// MaxCheckAmplitude is the largest exponent of Checks.Amplitudes.
	MaxCheckAmplitude = 48
)

// record has Manifest's fields without its methods: the CBOR codec would otherwise
// call MarshalBinary from inside MarshalBinary.
type record Manifest

// Parameters rebuilds the CKKS parameters the manifest names and checks that they
// match its fingerprint.
func (m *Manifest) Parameters() (hefloat.Parameters, error) {
	preset, err := params.ByName(m.Params, m.Insecure)
	if err != nil {
		return hefloat.Parameters{}, fmt.Errorf("manifest: %w", err)
	}
	p, err := preset.Parameters()
	if err != nil {
		return hefloat.Parameters{}, fmt.Errorf("manifest: %w", err)
	}
	if params.FingerprintOf(p) != m.ParamsFingerprint {
		return hefloat.Parameters{}, errs.New(errs.ErrMalformed, "manifest: parameter fingerprint does not match the named parameter set")
	}
	return p, nil
}

// Validate checks the fields every packing shares for consistency: parameters,
// shapes, levels, scales, the result layout and the evaluation keys. The packing
// checks its own fields (packing.Packing.Layout).
func (m *Manifest) Validate() error {
	p, err := m.Parameters()
	if err != nil {
		return err
	}
	malformed := func(format string, args ...any) error {
		return errs.New(errs.ErrMalformed, "manifest: "+format, args...)
	}
	switch {
	case m.Packing == "":
		return malformed("no packing")
	case !m.Input.Valid() || m.Outputs <= 0 || m.Outputs > 1<<20:
		return malformed("invalid shapes (input %v, %d outputs)", m.Input, m.Outputs)
	case m.InputLevel < 0 || m.InputLevel > p.MaxLevel() || m.OutputLevel < 0 || m.OutputLevel > m.InputLevel:
		return malformed("invalid levels (input %d, output %d, max %d)", m.InputLevel, m.OutputLevel, p.MaxLevel())
	case m.OutputDegree < 1 || m.OutputDegree > 16:
		return malformed("invalid output degree %d", m.OutputDegree)
	case m.InputLogScale < 1 || m.InputLogScale > 60 || m.OutputLogScale < 1 || m.OutputLogScale > 1000:
		return malformed("invalid scales")
	case !(m.InputRange[0] <= m.InputRange[1]) || !(m.OutputBound > 0):
		return malformed("invalid input range or output bound")
	case m.ImagesPerBatch < 1 || m.ImagesPerBatch > p.MaxSlots():
		return malformed("%d images per batch, %d slots", m.ImagesPerBatch, p.MaxSlots())
	case m.InputCiphertexts < 1 || m.InputCiphertexts > maxCiphertexts:
		return malformed("%d input ciphertexts", m.InputCiphertexts)
	case len(m.Layout) > maxLayoutBytes:
		return malformed("a layout of %d bytes", len(m.Layout))
	}
	if m.Checks.Positions <= m.ImagesPerBatch || m.Checks.Positions > p.MaxSlots() {
		return malformed("%d positions per request for %d images and %d slots", m.Checks.Positions, m.ImagesPerBatch, p.MaxSlots())
	}
	if err := m.Result.validate(m.Outputs, m.Checks.Positions, p.MaxSlots()); err != nil {
		return err
	}
	if len(m.Checks.Candidates)*m.Input.Size() > MaxCheckValues {
		return errs.New(errs.ErrLimit, "manifest: %d check inputs of %d values each are more than a client makes (%d values)", len(m.Checks.Candidates), m.Input.Size(), MaxCheckValues)
	}
	if err := m.Checks.validate(m.Outputs, m.OutputBound); err != nil {
		return err
	}
	if err := m.validateInputs(); err != nil {
		return err
	}
	return m.validateKeys(p)
}

// validateInputs checks the channel ranges, the preprocessing record, the guarantee
// and the monitors.
func (m *Manifest) validateInputs() error {
	if err := model.CheckChannelRanges(m.ChannelRanges, m.InputRange, m.Input.C); err != nil {
		return errs.New(errs.ErrMalformed, "manifest: %w", err)
	}
	if p := m.Preprocessing; p != nil && (len(p.Mean) != m.Input.C || len(p.Std) != m.Input.C) {
		return errs.New(errs.ErrMalformed, "manifest: a preprocessing record for %d channels, the input has %d", len(p.Mean), m.Input.C)
	}
	if len(m.InputScales) != 0 && len(m.InputScales) != m.Input.C {
		return errs.New(errs.ErrMalformed, "manifest: %d input scales for %d channels", len(m.InputScales), m.Input.C)
	}
	for _, k := range m.InputScales {
		if !(k > 0) || math.IsInf(k, 0) {
			return errs.New(errs.ErrMalformed, "manifest: input scale %g", k)
		}
	}
	switch {
	case m.Guarantee != "" && m.Guarantee != "proven" && m.Guarantee != "calibrated":
		return errs.New(errs.ErrMalformed, "manifest: unknown guarantee %q", m.Guarantee)
	case len(m.Monitors) > 0 && m.Guarantee != "calibrated":
		return errs.New(errs.ErrMalformed, "manifest: %d monitors in a plan whose bounds are not calibrated", len(m.Monitors))
	case len(m.Monitors) > maxCiphertexts || m.Result.Ciphertexts+len(m.Monitors) > maxCiphertexts:
		return errs.New(errs.ErrMalformed, "manifest: %d monitors", len(m.Monitors))
	}
	return nil
}

// validate checks the check inputs' logits and tolerances: finite, within the output
// bound, tolerances positive and tight, and every two check inputs' logits
// distinguishable (apart by more than both tolerances in some logit), so that one
// check input's result cannot pass for another's.
func (c *Checks) validate(outputs int, bound float64) error {
	malformed := func(format string, args ...any) error {
		return errs.New(errs.ErrMalformed, "manifest: checks: "+format, args...)
	}
	n := len(c.Candidates)
	if n < MinCheckInputs || n > MaxCheckInputs || len(c.Amplitudes) != n || len(c.Outputs) != n || len(c.Tolerance) != n || n*outputs > maxCheckLogits {
		return malformed("%d candidates, %d amplitudes, %d outputs and %d tolerances of %d logits, want %d to %d each and at most %d logits",
			n, len(c.Amplitudes), len(c.Outputs), len(c.Tolerance), outputs, MinCheckInputs, MaxCheckInputs, maxCheckLogits)
	}
	for i := range n {
		if i > 0 && c.Candidates[i] <= c.Candidates[i-1] {
			return malformed("candidates are not in increasing order")
		}
		if c.Amplitudes[i] > MaxCheckAmplitude {
			return malformed("check input %d has the amplitude 2^-%d", i, c.Amplitudes[i])
		}
		if len(c.Outputs[i]) != outputs || len(c.Tolerance[i]) != outputs {
			return malformed("check input %d has %d logits and %d tolerances, want %d", i, len(c.Outputs[i]), len(c.Tolerance[i]), outputs)
		}
		for j, v := range c.Outputs[i] {
			tol := c.Tolerance[i][j]
			if !(math.Abs(v) <= bound) || !(tol > 0) || !(tol <= maxTolerance*(1+math.Abs(v))) {
				return malformed("check input %d: logit %d is %g with tolerance %g (bound %g)", i, j, v, tol, bound)
			}
		}
	}
	for a := range n {
		for b := range a {
			if !c.distinct(a, b) {
				return malformed("check inputs %d and %d have logits closer than their tolerances", b, a)
			}
		}
	}
	return nil
}

// distinct reports whether some logit of check inputs a and b differs by more than
// the sum of their tolerances.
func (c *Checks) distinct(a, b int) bool {
	for j := range c.Outputs[a] {
		if math.Abs(c.Outputs[a][j]-c.Outputs[b][j]) > c.Tolerance[a][j]+c.Tolerance[b][j] {
			return true
		}
	}
	return false
}

// validate checks that the logits of every image fit in the result's slots.
func (r ResultLayout) validate(outputs, images, slots int) error {
	switch {
	case r.Ciphertexts < 1 || r.Ciphertexts > maxCiphertexts || r.PerCiphertext < 1 || r.PerCiphertext > outputs ||
		r.ValueStride < 0 || r.ImageStride < 0 || r.ValueStride > slots || r.ImageStride > slots:
		return errs.New(errs.ErrMalformed, "manifest: invalid result layout %+v", r)
	case r.Ciphertexts != (outputs+r.PerCiphertext-1)/r.PerCiphertext:
		return errs.New(errs.ErrMalformed, "manifest: %d result ciphertexts for %d logits, %d each", r.Ciphertexts, outputs, r.PerCiphertext)
	case (r.PerCiphertext-1)*r.ValueStride+(images-1)*r.ImageStride >= slots:
		return errs.New(errs.ErrMalformed, "manifest: the logits of %d images do not fit in %d slots", images, slots)
	}
	return nil
}

// validateKeys checks the Galois elements and key levels against the parameters.
func (m *Manifest) validateKeys(p hefloat.Parameters) error {
	if len(m.GaloisElements) > maxGaloisElements || len(m.GaloisLevels) != len(m.GaloisElements) {
		return errs.New(errs.ErrMalformed, "manifest: %d Galois elements with %d levels", len(m.GaloisElements), len(m.GaloisLevels))
	}
	if m.Relinearize && p.PCount() == 0 {
		return errs.New(errs.ErrMalformed, "manifest: a relinearization key needs special primes, and %s has none", m.Params)
	}
	root := p.RingQ().NthRoot()
	for i, g := range m.GaloisElements {
		switch {
		case !RotationElement(g, root):
			return errs.New(errs.ErrMalformed, "manifest: Galois element %d is not a rotation (5^k mod %d)", g, root)
		case i > 0 && g <= m.GaloisElements[i-1]:
			return errs.New(errs.ErrMalformed, "manifest: Galois elements are not in increasing order")
		case m.GaloisLevels[i] < 0 || m.GaloisLevels[i] > p.MaxLevel():
			return errs.New(errs.ErrMalformed, "manifest: Galois key level %d outside [0, %d]", m.GaloisLevels[i], p.MaxLevel())
		}
	}
	return nil
}

// RotationElement reports whether g is in the rotation group of a ring whose
// automorphisms are taken modulo nthRoot (a power of two): the powers of 5, which are
// exactly the residues ≡ 1 (mod 4) below nthRoot. An odd element outside it, such as 3,
// is a rotation composed with conjugation, for which Lattigo's key generator indexes
// out of range on the conjugate-invariant ring.
func RotationElement(g, nthRoot uint64) bool { return g%4 == 1 && g < nthRoot }

// Fingerprint is a digest of the whole manifest; every ciphertext made for the plan
// carries it.
func (m *Manifest) Fingerprint() [32]byte {
	data, err := cbor.Marshal((*record)(m))
	if err != nil {
		panic(fmt.Sprintf("manifest: manifest does not encode: %v", err)) // plain struct: cannot happen
	}
	return sha256.Sum256(data)
}

// MarshalBinary encodes the manifest as CBOR.
func (m *Manifest) MarshalBinary() ([]byte, error) { return cbor.Marshal((*record)(m)) }

// UnmarshalBinary decodes and validates a manifest.
func (m *Manifest) UnmarshalBinary(data []byte) error {
	var out Manifest
	if err := cbor.Unmarshal(data, (*record)(&out)); err != nil {
		return errs.New(errs.ErrMalformed, "manifest: %w", err)
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*m = out
	return nil
}

// InputSpec returns what the manifest's model records about its inputs: what a
// client prepares its records with (model.InputSpec.Prepare).
func (m *Manifest) InputSpec() model.InputSpec {
	return model.InputSpec{Shape: m.Input, Range: m.InputRange, ChannelRanges: m.ChannelRanges}
}
