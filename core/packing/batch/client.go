package batch

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Codec is the client side of batch packing: it encrypts images into one ciphertext per
// input value and decrypts result ciphertexts into logits. It holds the secret key.
type Codec struct {
	manifest manifest.Manifest
	params   hefloat.Parameters
	sk       *rlwe.SecretKey
	workers  int
}

// NewCodec prepares encryption and decryption for a batch manifest.
func NewCodec(m manifest.Manifest, prm hefloat.Parameters, sk *rlwe.SecretKey) (*Codec, error) {
	if m.Packing != manifest.Batch {
		return nil, fmt.Errorf("batch: manifest packing is %q", m.Packing)
	}
	return &Codec{manifest: m, params: prm, sk: sk, workers: defaultWorkers()}, nil
}

// EncryptImages encrypts up to ImagesPerBatch images (each Input.Size() values, inside
// InputRange) with the secret key: ciphertext k holds value k of every image, image i
// in slot i. With a seed, the c1 component of ciphertext k is drawn from
// wire.CiphertextPRNG(seed, k), so that only c0 needs to travel.
func (c *Codec) EncryptImages(images [][]float64, seed []byte, progress Progress) ([]*rlwe.Ciphertext, error) {
	m := c.manifest
	if len(images) == 0 || len(images) > m.ImagesPerBatch {
		return nil, fmt.Errorf("batch: %d images, want 1 to %d", len(images), m.ImagesPerBatch)
	}
	size := m.Input.Size()
	for i, img := range images {
		if len(img) != size {
			return nil, fmt.Errorf("batch: image %d has %d values, want %d (%v)", i, len(img), size, m.Input)
		}
		for _, v := range img {
			if !(v >= m.InputRange[0] && v <= m.InputRange[1]) {
				return nil, fmt.Errorf("batch: image %d has value %g outside [%g, %g]", i, v, m.InputRange[0], m.InputRange[1])
			}
		}
	}
	out := make([]*rlwe.Ciphertext, size)
	ev := &evaluation{params: c.params, workers: c.workers}
	encoders := make([]*hefloat.Encoder, c.workers)
	encryptors := make([]*rlwe.Encryptor, c.workers)
	for w := range encoders {
		encoders[w] = hefloat.NewEncoder(c.params)
		encryptors[w] = rlwe.NewEncryptor(c.params, c.sk)
	}
	var (
		mu     sync.Mutex
		failed error
		done   int
	)
	fault := ev.parallel(size, func(w, k int) {
		values := make([]float64, c.params.MaxSlots())
		for i, img := range images {
			values[i] = img[k]
		}
		pt := hefloat.NewPlaintext(c.params, m.InputLevel)
		pt.Scale = rlwe.NewScale(math.Ldexp(1, m.InputLogScale))
		err := encoders[w].Encode(values, pt)
		var ct *rlwe.Ciphertext
		if err == nil {
			ct, err = wire.EncryptSeeded(encryptors[w], pt, seed, k)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil && failed == nil {
			failed = err
		}
		out[k] = ct
		done++
		if done%64 == 0 || done == size {
			progress.report("encrypt", done, size)
		}
	})
	if failed = errors.Join(fault, failed); failed != nil {
		return nil, fmt.Errorf("batch: encrypt: %w", failed)
	}
	return out, nil
}

// DecryptLogits decrypts result ciphertexts into the logits of the first n images.
// A value beyond the plan's output bound means a wrong key or a corrupted result, and
// is an error rather than a wrong answer.
func (c *Codec) DecryptLogits(result []*rlwe.Ciphertext, n int) ([][]float64, error) {
	m := c.manifest
	if n < 1 || n > m.ImagesPerBatch {
		return nil, fmt.Errorf("batch: %d images, want 1 to %d", n, m.ImagesPerBatch)
	}
	if err := checkCiphertexts(result, m.Outputs, m.OutputDegree, m.OutputLevel, m.OutputLogScale, c.params.N()); err != nil {
		return nil, err
	}
	logits := make([][]float64, n)
	for i := range logits {
		logits[i] = make([]float64, m.Outputs)
	}
	dec := rlwe.NewDecryptor(c.params, c.sk)
	ecd := hefloat.NewEncoder(c.params)
	values := make([]float64, c.params.MaxSlots())
	// The bound holds for every valid input; CKKS noise adds far less than this slack.
	limit := m.OutputBound*(1+1e-6) + 1e-3
	for j, ct := range result {
		if err := ecd.Decode(dec.DecryptNew(ct), values); err != nil {
			return nil, fmt.Errorf("batch: decode: %w", err)
		}
		for i := range n {
			v := values[i]
			if !(math.Abs(v) <= limit) {
				return nil, fmt.Errorf("batch: decrypted logit %d of image %d is %.3g, beyond the plan's bound %.3g: wrong secret key or corrupted result", j, i, v, m.OutputBound)
			}
			logits[i][j] = v
		}
	}
	return logits, nil
}
