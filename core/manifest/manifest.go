// Package plan holds the public manifest of a compiled model: everything a client
// needs to encrypt inputs for it and decrypt its results, and nothing of its weights.
package manifest

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cryptonets/cryptonets/core/internal/cbor"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Packing is how images are laid out in ciphertext slots.
type Packing string

// The packings.
const (
	// Batch packs one image per slot and one ciphertext per tensor value (CryptoNets).
	Batch Packing = "batch"
	// Single spreads one image over the slots of a few ciphertexts (LoLa): the first
	// layer's im2col, laid out as the manifest's Layout says.
	Single Packing = "single"
)

// Layout tells a single-packing client where each input value goes: the im2col of
// the first affine layer, for k = ImagesPerCiphertext interleaved images. Ciphertext c,
// segment s (SegmentLength·k slots from slot s·SegmentLength·k) holds in slot o·k + i
// the value of image i that term t = c·SegmentsPerCiphertext + s of first-layer output
// o reads, Gather[t][o] (-1: zero); the used segments repeat over the rest of the
// slots.
type Layout struct {
	Ciphertexts           int       `codec:"ciphertexts"`
	SegmentLength         int       `codec:"segment_length"`
	SegmentsPerCiphertext int       `codec:"segments_per_ciphertext"`
	ImagesPerCiphertext   int       `codec:"images_per_ciphertext"`
	Gather                [][]int32 `codec:"gather"`
}

// The largest layouts and key lists a manifest may describe.
const (
	maxCiphertexts    = 256
	maxGaloisElements = 512
)

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
	// Layout is where a single-packing client puts each input value (nil for batch).
	Layout *Layout `codec:"layout"`
}

// Work counts what one request of a compiled plan computes, in limb-polynomial
// operations (each on the N coefficients of one RNS limb): the input of the cost model
// that chooses a packing (package compile).
type Work struct {
	// MulAdds are products accumulated into a limb-polynomial (weights, tensor
	// products, key products, base conversions).
	MulAdds float64
	// NTTs are limb-polynomials transformed (each N·log N).
	NTTs float64
	// Encrypted and Decrypted are the limb-polynomials the client encrypts (c0 and
	// c1) and decrypts.
	Encrypted, Decrypted float64
}

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
		return hefloat.Parameters{}, errors.New("manifest: parameter fingerprint does not match the named parameter set")
	}
	return p, nil
}

// Validate checks the manifest's fields for consistency.
func (m *Manifest) Validate() error {
	p, err := m.Parameters()
	if err != nil {
		return err
	}
	switch {
	case m.Packing != Batch && m.Packing != Single:
		return fmt.Errorf("manifest: unknown packing %q", m.Packing)
	case !m.Input.Valid() || m.Outputs <= 0 || m.Outputs > 1<<20:
		return fmt.Errorf("manifest: invalid shapes (input %v, %d outputs)", m.Input, m.Outputs)
	case m.InputLevel < 0 || m.InputLevel > p.MaxLevel() || m.OutputLevel < 0 || m.OutputLevel > m.InputLevel:
		return fmt.Errorf("manifest: invalid levels (input %d, output %d, max %d)", m.InputLevel, m.OutputLevel, p.MaxLevel())
	case m.OutputDegree < 1 || m.OutputDegree > 16:
		return fmt.Errorf("manifest: invalid output degree %d", m.OutputDegree)
	case m.InputLogScale < 1 || m.InputLogScale > 60 || m.OutputLogScale < 1 || m.OutputLogScale > 1000:
		return errors.New("manifest: invalid scales")
	case !(m.InputRange[0] <= m.InputRange[1]) || !(m.OutputBound > 0):
		return errors.New("manifest: invalid input range or output bound")
	case m.ImagesPerBatch < 1 || m.ImagesPerBatch > p.MaxSlots():
		return fmt.Errorf("manifest: %d images per batch, %d slots", m.ImagesPerBatch, p.MaxSlots())
	}
	if m.Packing == Batch {
		if m.Layout != nil || m.Relinearize || len(m.GaloisElements) > 0 || len(m.GaloisLevels) > 0 {
			return errors.New("manifest: a batch plan has no layout and needs no evaluation keys")
		}
		return nil
	}
	if err := m.validateKeys(p); err != nil {
		return err
	}
	if err := m.Layout.validate(m.Input.Size(), p.MaxSlots()); err != nil {
		return err
	}
	if !m.Relinearize || m.ImagesPerBatch != m.Layout.ImagesPerCiphertext {
		return errors.New("manifest: a single-packing plan relinearizes and holds its layout's images per request")
	}
	return nil
}

// validateKeys checks the Galois elements and key levels against the parameters.
func (m *Manifest) validateKeys(p hefloat.Parameters) error {
	if len(m.GaloisElements) > maxGaloisElements || len(m.GaloisLevels) != len(m.GaloisElements) {
		return fmt.Errorf("manifest: %d Galois elements with %d levels", len(m.GaloisElements), len(m.GaloisLevels))
	}
	root := p.RingQ().NthRoot()
	for i, g := range m.GaloisElements {
		switch {
		case g&1 == 0 || g >= root:
			return fmt.Errorf("manifest: Galois element %d is not an odd number below %d", g, root)
		case i > 0 && g <= m.GaloisElements[i-1]:
			return errors.New("manifest: Galois elements are not in increasing order")
		case m.GaloisLevels[i] < 0 || m.GaloisLevels[i] > p.MaxLevel():
			return fmt.Errorf("manifest: Galois key level %d outside [0, %d]", m.GaloisLevels[i], p.MaxLevel())
		}
	}
	return nil
}

// validate checks a single-packing layout for inputs of n values and ciphertexts of
// the given slot count.
func (l *Layout) validate(n, slots int) error {
	switch {
	case l == nil:
		return errors.New("manifest: a single-packing plan needs a layout")
	case l.Ciphertexts < 1 || l.Ciphertexts > maxCiphertexts:
		return fmt.Errorf("manifest: layout of %d ciphertexts", l.Ciphertexts)
	case l.ImagesPerCiphertext < 1 || l.ImagesPerCiphertext&(l.ImagesPerCiphertext-1) != 0 || l.ImagesPerCiphertext > slots:
		return fmt.Errorf("manifest: %d images per ciphertext is not a power of two up to %d", l.ImagesPerCiphertext, slots)
	case l.SegmentLength < 1 || l.SegmentLength&(l.SegmentLength-1) != 0 || l.SegmentLength > slots/l.ImagesPerCiphertext:
		return fmt.Errorf("manifest: segment length %d is not a power of two up to %d", l.SegmentLength, slots/l.ImagesPerCiphertext)
	case l.SegmentsPerCiphertext < 1 || l.SegmentsPerCiphertext > slots/(l.SegmentLength*l.ImagesPerCiphertext):
		return fmt.Errorf("manifest: %d segments of %d slots do not fit in %d", l.SegmentsPerCiphertext, l.SegmentLength*l.ImagesPerCiphertext, slots)
	case len(l.Gather) < 1 || len(l.Gather) > l.Ciphertexts*l.SegmentsPerCiphertext:
		return fmt.Errorf("manifest: %d gather rows for %d segments", len(l.Gather), l.Ciphertexts*l.SegmentsPerCiphertext)
	}
	for _, row := range l.Gather {
		if len(row) > l.SegmentLength {
			return fmt.Errorf("manifest: a gather row of %d values exceeds the segment length %d", len(row), l.SegmentLength)
		}
		for _, idx := range row {
			if idx < -1 || int(idx) >= n {
				return fmt.Errorf("manifest: gather index %d outside [-1, %d)", idx, n)
			}
		}
	}
	return nil
}

// Fingerprint is a digest of the whole manifest; every ciphertext made for the plan
// carries it.
func (m *Manifest) Fingerprint() [32]byte {
	data, err := cbor.Marshal((*record)(m))
	if err != nil {
		panic(fmt.Sprintf("plan: manifest does not encode: %v", err)) // plain struct: cannot happen
	}
	return sha256.Sum256(data)
}

// MarshalBinary encodes the manifest as CBOR.
func (m *Manifest) MarshalBinary() ([]byte, error) { return cbor.Marshal((*record)(m)) }

// UnmarshalBinary decodes and validates a manifest.
func (m *Manifest) UnmarshalBinary(data []byte) error {
	var out Manifest
	if err := cbor.Unmarshal(data, (*record)(&out)); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*m = out
	return nil
}
