// Package plan holds the public manifest of a compiled model: everything a client
// needs to encrypt inputs for it and decrypt its results, and nothing of its weights.
package plan

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cryptonets/cryptonets/core/cbor"
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
	// GaloisElements lists the rotation keys the plan needs (none for batch packing).
	GaloisElements []uint64 `codec:"galois_elements"`
	// Relinearize tells whether the plan needs a relinearization key.
	Relinearize bool `codec:"relinearize"`
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
	case m.Packing != Batch:
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
