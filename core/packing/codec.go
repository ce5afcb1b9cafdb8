package packing

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"runtime"
	"strings"
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/seeded"
	"github.com/cryptonets/cryptonets/core/internal/workers"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Codec is the client side of every packing: from a manifest and its packing's
// layout it encrypts images, decrypts results and checks them (manifest.Checks), and
// makes the evaluation keys the manifest lists. It holds the secret key.
type Codec struct {
	manifest manifest.Manifest
	params   hefloat.Parameters
	layout   Layout
	sk       *rlwe.SecretKey
	// key derives the secret arrangement of each request (where its images sit).
	key     []byte
	workers int
	// checks are the check inputs, made on first use.
	checks [][]float64
	// secret is sk prepared for encryption, on first use (once).
	once      sync.Once
	secret    *seeded.Secret
	secretErr error
}

// NewCodec prepares encryption and decryption for a validated manifest whose
// parameters are prm, with the layout its packing returned for it, the secret key,
// and a secret of the client's from which the arrangement of each request is derived
// (at least 16 bytes; the same for every call that must decrypt the request).
func NewCodec(m *manifest.Manifest, prm hefloat.Parameters, layout Layout, sk *rlwe.SecretKey, key []byte) (*Codec, error) {
	if m == nil || layout == nil || sk == nil || len(key) < 16 {
		return nil, errs.New(errs.ErrInvalidArgument, "packing: nil manifest, layout or secret key, or a short arrangement key")
	}
	return &Codec{manifest: *m, params: prm, layout: layout, sk: sk, key: bytes.Clone(key), workers: runtime.GOMAXPROCS(0)}, nil
}

// checkInputs returns the manifest's check inputs.
func (c *Codec) checkInputs() [][]float64 {
	if c.checks == nil {
		m := &c.manifest
		ranges := InputRanges(m)
		for i, cand := range m.Checks.Candidates {
			c.checks = append(c.checks, CheckInput(m.Checks.Seed, cand, m.Checks.Amplitudes[i], ranges))
		}
	}
	return c.checks
}

// arrangement returns the arrangement of request id with n images.
func (c *Codec) arrangement(id []byte, n int) arrangement {
	return arrange(c.key, id, n, c.manifest.Checks.Positions, len(c.manifest.Checks.Candidates))
}

// CheckImages reports whether images can make one request under manifest m: 1 to
// ImagesPerBatch images of Input.Size() values each, every one inside InputRange and
// inside its channel's range when the manifest has ChannelRanges.
func CheckImages(m *manifest.Manifest, images [][]float64) error {
	if len(images) < 1 || len(images) > m.ImagesPerBatch {
		return errs.New(errs.ErrInvalidArgument, "%d images, want 1 to %d per request", len(images), m.ImagesPerBatch)
	}
	size := m.Input.Size()
	// The values are checked a plane (a channel) at a time, against its range.
	plane, ranges := size, [][2]float64{m.InputRange}
	if len(m.ChannelRanges) > 0 {
		plane, ranges = m.Input.H*m.Input.W, m.ChannelRanges
	}
	// On every core; the error is the first image's, as a loop would find it.
	return workers.First(len(images), runtime.GOMAXPROCS(0), func(n int) error {
		image := images[n]
		if len(image) != size {
			return errs.New(errs.ErrInvalidArgument, "image %d has %d values, want %d (%v)", n, len(image), size, m.Input)
		}
		for c := 0; c*plane < size; c++ {
			r := ranges[c]
			for i, v := range image[c*plane : (c+1)*plane] {
				if !(v >= r[0] && v <= r[1]) {
					what := "the model's input range"
					if len(m.ChannelRanges) > 0 {
						what = fmt.Sprintf("the range of channel %d", c)
					}
					return errs.New(errs.ErrInvalidArgument, "image %d: value %d (%g) is outside %s [%g, %g]", n, c*plane+i, v, what, r[0], r[1])
				}
			}
		}
		return nil
	})
}

// Encrypt encrypts one request's images (see CheckImages) with the secret key into
// the manifest's InputCiphertexts ciphertexts, laid out by the packing: the images at
// the positions the request's identifier id gives them, check inputs at the others.
// With a seed (seeded.SeedSize bytes), the c1 component of ciphertext k is
// seeded.ExpandC1(…, seed, k, …), so that only c0 needs to travel.
func (c *Codec) Encrypt(images [][]float64, id, seed []byte, progress Progress) ([]*rlwe.Ciphertext, error) {
	enc, err := c.Begin(images, id, seed, progress)
	if err != nil {
		return nil, err
	}
	out := make([]*rlwe.Ciphertext, enc.Count())
	err = workers.Run(len(out), c.workers, func(w, k int) error {
		out[k] = rlwe.NewCiphertext(c.params, 1, c.manifest.InputLevel)
		return enc.EncryptTo(w, k, out[k])
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Encryption is one request being encrypted ciphertext by ciphertext, on up to
// Workers goroutines at once: what Encrypt does, for a caller that takes each
// ciphertext as it is made (a writer that seals them as they come, reusing one
// ciphertext per goroutine).
type Encryption struct {
	codec      *Codec
	seed       []byte
	encryptors []*seeded.Encryptor
	blocks     *blocks
	progress   Progress
	mu         sync.Mutex
	done       int
}

// Begin starts encrypting one request as Encrypt does (same arguments).
func (c *Codec) Begin(images [][]float64, id, seed []byte, progress Progress) (*Encryption, error) {
	if err := CheckImages(&c.manifest, images); err != nil {
		return nil, err
	}
	secret, err := c.secretKey()
	if err != nil {
		return nil, err
	}
	arr := c.arrangement(id, len(images))
	checks := c.checkInputs()
	lanes := make([][]float64, len(arr.image))
	for p, i := range arr.image {
		if i >= 0 {
			lanes[p] = images[i]
		} else {
			lanes[p] = checks[arr.check[p]]
		}
	}
	e := &Encryption{codec: c, seed: seed, progress: progress, encryptors: make([]*seeded.Encryptor, c.workers),
		blocks: newBlocks(c.layout, lanes, c.manifest.InputCiphertexts, c.params.MaxSlots())}
	for w := range e.encryptors {
		if e.encryptors[w], err = secret.NewEncryptor(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Count returns the number of ciphertexts of the request.
func (e *Encryption) Count() int { return e.codec.manifest.InputCiphertexts }

// Workers returns how many goroutines may call EncryptTo at once, each with its own
// number w in [0, Workers).
func (e *Encryption) Workers() int { return len(e.encryptors) }

// EncryptTo encrypts ciphertext k of the request into ct (degree 1, at the manifest's
// input level, overwritten) with worker w's buffers. Each ciphertext is encrypted
// once: the slot values of a block of them are laid out together, and let go when
// all are encrypted.
func (e *Encryption) EncryptTo(w, k int, ct *rlwe.Ciphertext) error {
	m := &e.codec.manifest
	if k < 0 || k >= m.InputCiphertexts {
		return errs.New(errs.ErrInvalidArgument, "packing: ciphertext %d of %d", k, m.InputCiphertexts)
	}
	if ct.Level() != m.InputLevel {
		return errs.New(errs.ErrInvalidArgument, "packing: a ciphertext at level %d, the manifest's inputs are at level %d", ct.Level(), m.InputLevel)
	}
	err := e.encryptors[w].EncryptTo(ct, e.blocks.get(k), m.InputLogScale, e.seed, k)
	e.blocks.done(k)
	if err != nil {
		return fmt.Errorf("packing: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.done++
	if e.done%64 == 0 || e.done == m.InputCiphertexts {
		e.progress.Report("encrypt", e.done, m.InputCiphertexts)
	}
	return nil
}

// secretKey returns the secret key prepared for encryption, made on first use.
func (c *Codec) secretKey() (*seeded.Secret, error) {
	c.once.Do(func() { c.secret, c.secretErr = seeded.NewSecret(c.params, c.sk) })
	return c.secret, c.secretErr
}

// Decrypt returns the logits of the n images of request id from its result, after
// checking the logits at the request's check positions against the manifest's
// (errs.ErrIntegrity if any is off: a wrong secret key, a tampered result, or the
// result of another request). With a calibrated plan, an image whose monitor exceeds
// 1 (its values left the calibrated range, so its logits may have overflowed) then
// makes the whole call fail with errs.ErrInvalidArgument (an input out of range),
// naming the images.
func (c *Codec) Decrypt(result []*rlwe.Ciphertext, id []byte, n int) ([][]float64, error) {
	m := &c.manifest
	if n < 1 || n > m.ImagesPerBatch {
		return nil, errs.New(errs.ErrInvalidArgument, "packing: %d images, want 1 to %d", n, m.ImagesPerBatch)
	}
	if err := CheckCiphertexts(result, m.ResultCiphertexts(), m.OutputDegree, m.OutputLevel, m.OutputLogScale, c.params); err != nil {
		return nil, err
	}
	dec := rlwe.NewDecryptor(c.params, c.sk)
	ecd := hefloat.NewEncoder(c.params)
	values := make([][]float64, len(result))
	for i, ct := range result {
		values[i] = make([]float64, c.params.MaxSlots())
		if err := ecd.Decode(dec.DecryptNew(ct), values[i]); err != nil {
			return nil, errs.New(errs.ErrInternal, "packing: decode: %w", err)
		}
	}
	arr := c.arrangement(id, n)
	logits := make([][]float64, n)
	positions := make([]int, n) // where each image is
	failed := 0                 // every check is compared, whatever the first failure
	for p, i := range arr.image {
		if i >= 0 {
			positions[i] = p
			logits[i] = make([]float64, m.Outputs)
			for j := range logits[i] {
				ct, slot := m.Result.Slot(p, j)
				logits[i][j] = values[ct][slot]
			}
			continue
		}
		want, tol := m.Checks.Outputs[arr.check[p]], m.Checks.Tolerance[arr.check[p]]
		for j := range want {
			ct, slot := m.Result.Slot(p, j)
			if !(math.Abs(values[ct][slot]-want[j]) <= tol[j]) {
				failed++
			}
		}
	}
	if failed > 0 {
		return nil, errs.New(errs.ErrIntegrity, "packing: %d of the result's check values are not the model's: wrong secret key, tampered result, or the result of another request (use a new key for further requests: docs/security.md)", failed)
	}
	if err := checkMonitors(m, values, positions); err != nil {
		return nil, err
	}
	return logits, nil
}

// monitorSlack is what CKKS noise and the rounding of a monitor's weights (10 bits)
// and scale (8 bits or more) may add to a monitor's value (its threshold is 1).
const monitorSlack = 1e-2

// maxNamed bounds the images an out-of-range error names.
const maxNamed = 5

// checkMonitors checks, image by image (image i at position positions[i]), the
// monitors of a calibrated plan in order: the first one above 1 is where the image's values left the calibrated range (the
// monitors after it, and the logits, may have overflowed).
func checkMonitors(m *manifest.Manifest, values [][]float64, positions []int) error {
	var bad []string
	count, n := 0, len(positions)
	for i, p := range positions {
		for k, layer := range m.Monitors {
			v := values[m.Result.Ciphertexts+k][p*m.Result.ImageStride]
			if v <= 1+monitorSlack {
				continue
			}
			count++
			if len(bad) < maxNamed {
				bad = append(bad, fmt.Sprintf("image %d at layer %d (monitor %.3g)", i, layer, v))
			}
			break
		}
	}
	if count == 0 {
		return nil
	}
	return errs.New(errs.ErrInvalidArgument, "packing: %d of %d images left the range the model was calibrated for, so their results could be wrong: %s%s; "+
		"convert the model with calibration data that covers such inputs, or a larger margin",
		count, n, strings.Join(bad, ", "), map[bool]string{true: ", …", false: ""}[count > len(bad)])
}

// EvaluationKeys makes exactly the keys the manifest lists: the relinearization key
// if it relinearizes, and the Galois keys at their levels.
func (c *Codec) EvaluationKeys() (*rlwe.RelinearizationKey, []*rlwe.GaloisKey) {
	m := &c.manifest
	kgen := rlwe.NewKeyGenerator(c.params)
	var rlk *rlwe.RelinearizationKey
	if m.Relinearize {
		rlk = kgen.GenRelinearizationKeyNew(c.sk)
	}
	gks := make([]*rlwe.GaloisKey, len(m.GaloisElements))
	for i, g := range m.GaloisElements {
		level := m.GaloisLevels[i]
		gks[i] = kgen.GenGaloisKeyNew(g, c.sk, rlwe.EvaluationKeyParameters{LevelQ: &level})
	}
	return rlk, gks
}

// CheckCiphertexts reports whether cts are count ciphertexts of the given degree and
// level, slot-encoded in the NTT domain, not in Montgomery form, of ring degree
// prm.N() and with scale 2^logScale.
func CheckCiphertexts(cts []*rlwe.Ciphertext, count, degree, level int, logScale float64, prm hefloat.Parameters) error {
	if len(cts) != count {
		return errs.New(errs.ErrMismatch, "packing: %d ciphertexts, want %d", len(cts), count)
	}
	for i, ct := range cts {
		switch {
		case ct == nil || ct.MetaData == nil || len(ct.Value) == 0:
			return errs.New(errs.ErrInvalidArgument, "packing: ciphertext %d is empty", i)
		case ct.Degree() != degree || ct.Level() != level:
			return errs.New(errs.ErrMismatch, "packing: ciphertext %d has degree %d at level %d, want degree %d at level %d", i, ct.Degree(), ct.Level(), degree, level)
		case !ct.IsNTT || ct.IsMontgomery || !ct.IsBatched || ct.LogDimensions != prm.LogMaxDimensions():
			return errs.New(errs.ErrMismatch, "packing: ciphertext %d is not a slot-encoded NTT-domain ciphertext", i)
		case ct.Value[0].N() != prm.N():
			return errs.New(errs.ErrMismatch, "packing: ciphertext %d is of ring degree %d, want %d", i, ct.Value[0].N(), prm.N())
		case math.Abs(Log2(ct.Scale)-logScale) > 1e-9:
			return errs.New(errs.ErrMismatch, "packing: ciphertext %d has scale 2^%.3f, want 2^%.3f", i, Log2(ct.Scale), logScale)
		}
	}
	return nil
}

// Log2 returns log2 of a scale, which may exceed float64's range.
func Log2(s rlwe.Scale) float64 {
	mant := new(big.Float)
	exp := s.Value.MantExp(mant)
	f, _ := mant.Float64()
	return float64(exp) + math.Log2(f)
}
