package single

import (
	"errors"
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Client is the client side of single-image packing: it lays an image out as the
// im2col of the plan's first layer, encrypts it, and decrypts results. It holds the
// secret key and is not safe for concurrent use.
//
// Decrypted logits are CKKS approximations (message + noise): do not share them
// together with the ciphertexts (see docs on IND-CPA^D).
type Client struct {
	plan *Plan
	ecd  *hefloat.Encoder
	enc  *rlwe.Encryptor
	dec  *rlwe.Decryptor
}

// NewClient prepares encryption and decryption for p with the secret key sk.
func NewClient(p *Plan, sk *rlwe.SecretKey) (*Client, error) {
	if p == nil || sk == nil {
		return nil, errors.New("single: nil plan or secret key")
	}
	return &Client{plan: p, ecd: hefloat.NewEncoder(p.params),
		enc: rlwe.NewEncryptor(p.params, sk), dec: rlwe.NewDecryptor(p.params, sk)}, nil
}

// Encode returns the slot values of the image's ciphertexts: ciphertext c, segment s
// holds, at offset o, the input value that term c·S+s of first-layer output o reads
// (S segments per ciphertext), and zero where that output has fewer terms.
func (p *Plan) Encode(image []float64) ([][]float64, error) {
	m := p.manifest
	if len(image) != p.inSize {
		return nil, fmt.Errorf("single: image has %d values, want %d (%v)", len(image), p.inSize, m.Input)
	}
	for i, v := range image {
		if !(v >= m.InputRange[0] && v <= m.InputRange[1]) {
			return nil, fmt.Errorf("single: value %d (%g) is outside [%g, %g]", i, v, m.InputRange[0], m.InputRange[1])
		}
	}
	slots := p.params.MaxSlots()
	out := make([][]float64, len(p.first.weights))
	for c := range out {
		v := make([]float64, slots)
		for s := 0; s < p.segsPerCt; s++ {
			t := c*p.segsPerCt + s
			if t >= len(p.gather) {
				break
			}
			for o, idx := range p.gather[t] {
				if idx >= 0 {
					v[s*p.segLen+o] = image[idx]
				}
			}
		}
		repeat(v, p.segsPerCt*p.segLen)
		out[c] = v
	}
	return out, nil
}

// Encrypt encodes the image (Input.Size() values inside InputRange, channel-major) and
// encrypts it into Plan.Ciphertexts() ciphertexts at the top level.
func (c *Client) Encrypt(image []float64) ([]*rlwe.Ciphertext, error) {
	vecs, err := c.plan.Encode(image)
	if err != nil {
		return nil, err
	}
	prm := c.plan.params
	out := make([]*rlwe.Ciphertext, len(vecs))
	pt := hefloat.NewPlaintext(prm, prm.MaxLevel())
	for i, v := range vecs {
		if err := c.ecd.Encode(v, pt); err != nil {
			return nil, fmt.Errorf("single: encode: %w", err)
		}
		if out[i], err = c.enc.EncryptNew(pt); err != nil {
			return nil, fmt.Errorf("single: encrypt: %w", err)
		}
	}
	return out, nil
}

// Decrypt returns the logits held by the result of Evaluate.
func (c *Client) Decrypt(result []*rlwe.Ciphertext) ([]float64, error) {
	if len(result) != 1 || result[0] == nil || result[0].MetaData == nil {
		return nil, fmt.Errorf("single: want 1 result ciphertext, got %d", len(result))
	}
	ct := result[0]
	if ct.Degree() != 1 || ct.Level() != c.plan.manifest.OutputLevel {
		return nil, fmt.Errorf("single: result has degree %d and level %d, want 1 and %d", ct.Degree(), ct.Level(), c.plan.manifest.OutputLevel)
	}
	vals := make([]float64, ct.Slots())
	if err := c.ecd.Decode(c.dec.DecryptNew(ct), vals); err != nil {
		return nil, fmt.Errorf("single: decode: %w", err)
	}
	return vals[:c.plan.manifest.Outputs], nil
}
