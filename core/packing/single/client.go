package single

import (
	"errors"
	"fmt"
	"math"

	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Codec is the client side of single-image packing: from the public manifest alone it
// lays an image out as the im2col of the plan's first layer, encrypts it, and decrypts
// results. It holds the secret key and is not safe for concurrent use.
type Codec struct {
	manifest manifest.Manifest
	params   hefloat.Parameters
	ecd      *hefloat.Encoder
	enc      *rlwe.Encryptor
	dec      *rlwe.Decryptor
}

// NewCodec prepares encryption and decryption for a validated single-packing manifest.
func NewCodec(m manifest.Manifest, prm hefloat.Parameters, sk *rlwe.SecretKey) (*Codec, error) {
	if m.Packing != manifest.Single || m.Layout == nil {
		return nil, fmt.Errorf("single: manifest packing is %q", m.Packing)
	}
	if sk == nil {
		return nil, errors.New("single: nil secret key")
	}
	return &Codec{manifest: m, params: prm, ecd: hefloat.NewEncoder(prm),
		enc: rlwe.NewEncryptor(prm, sk), dec: rlwe.NewDecryptor(prm, sk)}, nil
}

// Encode returns the slot values of the ciphertexts of up to ImagesPerBatch images
// as the layout says (missing images are zeros).
func Encode(m *manifest.Manifest, slots int, images [][]float64) ([][]float64, error) {
	l := m.Layout
	if len(images) < 1 || len(images) > l.ImagesPerCiphertext {
		return nil, fmt.Errorf("single: %d images, want 1 to %d per request", len(images), l.ImagesPerCiphertext)
	}
	for n, image := range images {
		if len(image) != m.Input.Size() {
			return nil, fmt.Errorf("single: image %d has %d values, want %d (%v)", n, len(image), m.Input.Size(), m.Input)
		}
		for i, v := range image {
			if !(v >= m.InputRange[0] && v <= m.InputRange[1]) {
				return nil, fmt.Errorf("single: image %d: value %d (%g) is outside [%g, %g]", n, i, v, m.InputRange[0], m.InputRange[1])
			}
		}
	}
	k := l.ImagesPerCiphertext
	stride := l.SegmentLength * k
	out := make([][]float64, l.Ciphertexts)
	for c := range out {
		v := make([]float64, slots)
		for s := 0; s < l.SegmentsPerCiphertext; s++ {
			t := c*l.SegmentsPerCiphertext + s
			if t >= len(l.Gather) {
				break
			}
			for o, idx := range l.Gather[t] {
				if idx >= 0 {
					for i, image := range images {
						v[s*stride+o*k+i] = image[idx]
					}
				}
			}
		}
		repeat(v, l.SegmentsPerCiphertext*stride)
		out[c] = v
	}
	return out, nil
}

// EncryptImages encrypts up to ImagesPerBatch images (Input.Size() values inside
// InputRange, channel-major) into Layout.Ciphertexts ciphertexts at the top level. With
// a seed, the c1 component of ciphertext k is drawn from wire.CiphertextPRNG(seed, k),
// so that only c0 needs to travel.
func (c *Codec) EncryptImages(images [][]float64, seed []byte) ([]*rlwe.Ciphertext, error) {
	vecs, err := Encode(&c.manifest, c.params.MaxSlots(), images)
	if err != nil {
		return nil, err
	}
	out := make([]*rlwe.Ciphertext, len(vecs))
	pt := hefloat.NewPlaintext(c.params, c.manifest.InputLevel)
	pt.Scale = rlwe.NewScale(math.Ldexp(1, c.manifest.InputLogScale))
	for i, v := range vecs {
		if err := c.ecd.Encode(v, pt); err != nil {
			return nil, fmt.Errorf("single: encode: %w", err)
		}
		if out[i], err = wire.EncryptSeeded(c.enc, pt, seed, i); err != nil {
			return nil, fmt.Errorf("single: encrypt: %w", err)
		}
	}
	return out, nil
}

// DecryptLogits returns the logits of the n images of a result of Evaluate. A value
// beyond the plan's output bound means a wrong key or a corrupted result, and is an
// error rather than a wrong answer.
func (c *Codec) DecryptLogits(result []*rlwe.Ciphertext, n int) ([][]float64, error) {
	m := c.manifest
	if n < 1 || n > m.ImagesPerBatch || len(result) != 1 || result[0] == nil || result[0].MetaData == nil {
		return nil, fmt.Errorf("single: want 1 to %d images in 1 result ciphertext, got %d in %d", m.ImagesPerBatch, n, len(result))
	}
	ct := result[0]
	if ct.Degree() != 1 || ct.Level() != m.OutputLevel {
		return nil, fmt.Errorf("single: result has degree %d and level %d, want 1 and %d", ct.Degree(), ct.Level(), m.OutputLevel)
	}
	vals := make([]float64, ct.Slots())
	if err := c.ecd.Decode(c.dec.DecryptNew(ct), vals); err != nil {
		return nil, fmt.Errorf("single: decode: %w", err)
	}
	limit := m.OutputBound*(1+1e-6) + 1e-3
	k := m.Layout.ImagesPerCiphertext
	logits := make([][]float64, n)
	for i := range logits {
		logits[i] = make([]float64, m.Outputs)
		for j := range logits[i] {
			v := vals[j*k+i]
			if !(math.Abs(v) <= limit) {
				return nil, fmt.Errorf("single: decrypted logit %d of image %d is %.3g, beyond the plan's bound %.3g: wrong secret key or corrupted result", j, i, v, m.OutputBound)
			}
			logits[i][j] = v
		}
	}
	return logits, nil
}

// GenerateEvaluationKeys makes exactly the keys manifest m lists: the relinearization
// key and the Galois keys at their levels.
func GenerateEvaluationKeys(m *manifest.Manifest, prm hefloat.Parameters, sk *rlwe.SecretKey) (*rlwe.RelinearizationKey, []*rlwe.GaloisKey, error) {
	if sk == nil {
		return nil, nil, errors.New("single: nil secret key")
	}
	if len(m.GaloisLevels) != len(m.GaloisElements) {
		return nil, nil, errors.New("single: the manifest lists Galois elements without levels")
	}
	kgen := rlwe.NewKeyGenerator(prm)
	rlk := kgen.GenRelinearizationKeyNew(sk)
	gks := make([]*rlwe.GaloisKey, len(m.GaloisElements))
	for i, g := range m.GaloisElements {
		level := m.GaloisLevels[i]
		gks[i] = kgen.GenGaloisKeyNew(g, sk, rlwe.EvaluationKeyParameters{LevelQ: &level})
	}
	return rlk, gks, nil
}
