// Package seeded makes and rebuilds seeded ciphertexts: the uniform c1 component of
// ciphertext k of a request is drawn from a public per-request seed, so only c0 and
// the seed travel and the receiver draws the same c1 again (ExpandC1). The client's
// secret-key encryption (Secret, Encryptor) computes what Lattigo's encoder and
// encryptor compute — c0 = m + e − c1·s in the NTT domain — with the error added to
// the message before a single transform and every transform and product on the
// kernel package's paths.
package seeded

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
	"unsafe"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// SeedSize is the length of a request's seed.
const SeedSize = 32

// ExpandC1 draws the uniform c1 component of ciphertext k of a seeded batch, at the
// given level, as NTT-domain values: limb by limb, each coefficient of limb i is
// ⌊w·q_i/2^64⌋ for the next little-endian 8-byte word w of the keystream, skipping the
// words with (w·q_i mod 2^64) < (2^64 mod q_i) — Lemire's exact method, which skips a
// word with probability below q_i/2^64. The keystream is AES-256 in counter mode keyed
// by SHA-256("cryptonets-c1-aes" ‖ seed), the counter block starting at k·2^64, so every
// ciphertext has its own stream. The seed is public: c1 is uniform whoever knows it,
// as in any RLWE ciphertext; AES-CTR is a standard pseudo-random generator (NIST SP
// 800-90A builds CTR_DRBG on it) and runs on the processor's AES instructions.
// An Expander does the same for many ciphertexts without preparing the moduli again.
func ExpandC1(moduli []uint64, seed []byte, k int, level int, c1 ring.Poly) error {
	x, err := NewExpander(moduli)
	if err != nil {
		return err
	}
	return x.Expand(seed, k, level, c1)
}

// Expander draws seeded c1 components (ExpandC1) for one list of moduli, mapping the
// keystream to coefficients on the kernel path the environment selects (see
// kernel.FromEnv). It is read-only and safe for concurrent use.
type Expander struct {
	arith []kernel.Arith
}

// NewExpander prepares the expansion of c1 components modulo moduli.
func NewExpander(moduli []uint64) (*Expander, error) {
	path, err := kernel.FromEnv()
	if err != nil {
		return nil, err
	}
	x := &Expander{}
	for _, q := range moduli {
		m, err := kernel.NewModulus(q)
		if err != nil {
			return nil, err
		}
		x.arith = append(x.arith, kernel.NewArith(path, m))
	}
	return x, nil
}

// Expand writes c1 of ciphertext k of the batch of seed, at the given level, into c1
// (see ExpandC1).
func (x *Expander) Expand(seed []byte, k int, level int, c1 ring.Poly) error {
	if len(seed) != SeedSize {
		return errs.New(errs.ErrMalformed, "seeded: a seed has %d bytes, not %d", len(seed), SeedSize)
	}
	if level < 0 || level >= len(x.arith) || len(c1.Coeffs) <= level {
		return errs.New(errs.ErrInvalidArgument, "seeded: c1 at level %d of %d moduli and %d limbs", level, len(x.arith), len(c1.Coeffs))
	}
	key := sha256.Sum256(append([]byte("cryptonets-c1-aes"), seed...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return err
	}
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint64(iv[:8], uint64(k))
	stream := cipher.NewCTR(block, iv[:])
	bigEndian := binary.NativeEndian.Uint16([]byte{0, 1}) == 1
	for i, a := range x.arith[:level+1] {
		row := c1.Coeffs[i]
		// The keystream is written over the free end of the row itself and each word
		// replaced by its coefficient, moved down past skipped words (each word is read
		// before anything is written over it); more keystream fills the gap they leave.
		for j := 0; j < len(row); {
			words := row[j:]
			free := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 8*len(words))
			clear(free)
			stream.XORKeyStream(free, free)
			if bigEndian { // the words are little-endian
				for p, w := range words {
					words[p] = bits.ReverseBytes64(w)
				}
			}
			written, _ := a.Uniform(words, words)
			j += written
		}
	}
	return nil
}

// Secret is a secret key prepared for encryption: read-only, shared by Encryptors.
type Secret struct {
	params hefloat.Parameters
	moduli []uint64
	ifft   *kernel.IFFT
	quant  *kernel.Quantizer
	ntts   []*kernel.NTT
	arith  []kernel.Arith
	// expand draws c1, on the same path.
	expand *Expander
	// negS is −s in the NTT domain, plain (not Montgomery) form, one row per prime.
	negS [][]uint64
}

// NewSecret prepares sk (made for prm) for encryption on the kernel path the
// environment selects (see kernel.FromEnv).
func NewSecret(prm hefloat.Parameters, sk *rlwe.SecretKey) (*Secret, error) {
	if sk == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "seeded: nil secret key")
	}
	path, err := kernel.FromEnv()
	if err != nil {
		return nil, err
	}
	r := prm.RingQ()
	if prm.RingType() != ring.ConjugateInvariant || sk.Value.Q.Level() < prm.MaxLevel() {
		return nil, errs.New(errs.ErrUnsupported, "seeded: want a conjugate-invariant ring and a secret key at its top level")
	}
	s := &Secret{params: prm, moduli: prm.Q()}
	if s.ifft, err = kernel.NewIFFT(path, prm.LogMaxSlots(), int(r.NthRoot())); err != nil {
		return nil, err
	}
	if s.quant, err = kernel.NewQuantizer(path, s.moduli); err != nil {
		return nil, err
	}
	for l, sub := range r.SubRings {
		t, err := kernel.NewNTT(path, sub)
		if err != nil {
			return nil, err
		}
		m, err := kernel.NewModulus(sub.Modulus)
		if err != nil {
			return nil, err
		}
		s.ntts = append(s.ntts, t)
		s.arith = append(s.arith, kernel.NewArith(path, m))
		// Lattigo keeps s in Montgomery form: s·2^64 mod q.
		neg := make([]uint64, r.N())
		for j, v := range sk.Value.Q.Coeffs[l] {
			if v = ring.IMForm(v, sub.Modulus, sub.MRedConstant); v != 0 {
				v = sub.Modulus - v
			}
			neg[j] = v
		}
		s.negS = append(s.negS, neg)
	}
	s.expand = &Expander{arith: s.arith}
	return s, nil
}

// Encryptor encrypts slot vectors under a Secret. It is not safe for concurrent use:
// make one per goroutine.
type Encryptor struct {
	s *Secret
	// prng is the secret randomness of the errors (and of c1 without a seed).
	prng sampling.PRNG
	// gauss draws the error at the first prime only: Lattigo's sampler draws one
	// integer per coefficient whatever the level, so its residue modulo q_0 (below 20
	// in absolute value) is the error itself.
	gauss ring.Sampler
	noise ring.Poly
	// slots and coeffs hold the values and their transform while encoding.
	slots  []complex128
	coeffs []float64
}

// NewEncryptor returns an encryptor with its own encoder buffers and its own source of
// secret randomness (AES-256-CTR under a key from crypto/rand) for the errors.
func (s *Secret) NewEncryptor() (*Encryptor, error) {
	prng, err := newAESPRNG()
	if err != nil {
		return nil, err
	}
	return s.newEncryptor(prng)
}

// newEncryptor returns an encryptor drawing its errors from prng.
func (s *Secret) newEncryptor(prng sampling.PRNG) (*Encryptor, error) {
	first := s.params.RingQ().AtLevel(0)
	gauss, err := ring.NewSampler(prng, first, s.params.Xe(), false)
	if err != nil {
		return nil, errs.Wrap(errs.ErrInternal, err)
	}
	return &Encryptor{s: s, prng: prng, gauss: gauss, noise: first.NewPoly(),
		slots: make([]complex128, s.params.MaxSlots()), coeffs: make([]float64, s.params.MaxSlots())}, nil
}

// Encrypt encrypts values (at most MaxSlots, the rest zero) at scale 2^logScale and
// the given level into a new ciphertext (see EncryptTo).
func (e *Encryptor) Encrypt(values []float64, logScale, level int, seed []byte, k int) (*rlwe.Ciphertext, error) {
	if level < 0 || level > e.s.params.MaxLevel() {
		return nil, errs.New(errs.ErrInvalidArgument, "seeded: level %d, want 0 to %d", level, e.s.params.MaxLevel())
	}
	ct := rlwe.NewCiphertext(e.s.params, 1, level)
	if err := e.EncryptTo(ct, values, logScale, seed, k); err != nil {
		return nil, err
	}
	return ct, nil
}

// EncryptTo encrypts values (at most MaxSlots, the rest zero) at scale 2^logScale into
// ct, a degree-1 ciphertext of the parameters at the level it should have, overwriting
// all of it: a caller may reuse one ciphertext for many encryptions. With a seed, c1
// is ExpandC1(…, seed, k, …); without one, it is drawn the same way from a fresh secret
// seed.
func (e *Encryptor) EncryptTo(ct *rlwe.Ciphertext, values []float64, logScale int, seed []byte, k int) error {
	prm := e.s.params
	if ct == nil || ct.Degree() != 1 || ct.Level() > prm.MaxLevel() || ct.Value[0].N() != prm.N() || ct.Value[1].Level() != ct.Level() {
		return errs.New(errs.ErrInvalidArgument, "seeded: want a degree-1 ciphertext of the parameters")
	}
	if len(values) > len(e.slots) {
		return errs.New(errs.ErrInvalidArgument, "seeded: %d values, want at most %d", len(values), len(e.slots))
	}
	level := ct.Level()
	if seed == nil {
		seed = make([]byte, SeedSize)
		if _, err := e.prng.Read(seed); err != nil {
			return err
		}
	}
	c0, c1 := ct.Value[0], ct.Value[1]
	if err := e.s.expand.Expand(seed, k, level, c1); err != nil {
		return err
	}
	// m + e in the coefficient domain, written straight into c0.
	e.gauss.Read(e.noise)
	if err := e.encode(values, logScale, level, c0, e.noise.Coeffs[0]); err != nil {
		return err
	}
	// c0 = NTT(m + e) − c1·s.
	for l := range level + 1 {
		e.s.ntts[l].Forward(c0.Coeffs[l], c0.Coeffs[l])
		e.s.arith[l].MulAdd(c0.Coeffs[l], c1.Coeffs[l], e.s.negS[l])
	}
	ct.Scale = rlwe.NewScale(math.Ldexp(1, logScale))
	ct.LogDimensions = prm.LogMaxDimensions()
	ct.IsNTT, ct.IsBatched, ct.IsMontgomery = true, true, false
	return nil
}

// encode writes the plaintext of values at scale 2^logScale plus the error noise into
// p, in the coefficient domain, limbs 0…level: the inverse canonical embedding, then
// round(Re(z_j)·scale) + e_j modulo every prime (the conjugate-invariant ring has N
// real coefficients). noise holds the error's residues modulo q_0, as Lattigo's
// sampler leaves them: e_j or q_0 + e_j, |e_j| < q_0/2.
func (e *Encryptor) encode(values []float64, logScale, level int, p ring.Poly, noise []uint64) error {
	clear(e.slots)
	for i, v := range values {
		e.slots[i] = complex(v, 0)
	}
	e.s.ifft.Transform(e.slots)
	e.s.ifft.Coefficients(e.coeffs, e.slots, math.Ldexp(1, logScale))
	if bad := e.s.quant.Quantize(p.Coeffs[:level+1], e.coeffs, noise, e.s.moduli[0]); bad >= 0 {
		return errs.New(errs.ErrInvalidArgument, "seeded: coefficient %g does not fit the encoding", math.Round(e.coeffs[bad]))
	}
	return nil
}

// aesPRNG is AES-256 in counter mode under a random key: a fast generator of secret
// randomness for the error sampler.
type aesPRNG struct{ stream cipher.Stream }

func newAESPRNG() (*aesPRNG, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, errs.Wrap(errs.ErrInternal, err)
	}
	return newAESPRNGWithKey(key[:])
}

// newAESPRNGWithKey returns the generator under a given key (tests replay a stream).
func newAESPRNGWithKey(key []byte) (*aesPRNG, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &aesPRNG{stream: cipher.NewCTR(block, make([]byte, aes.BlockSize))}, nil
}

// Read fills p with keystream.
func (g *aesPRNG) Read(p []byte) (int, error) {
	clear(p)
	g.stream.XORKeyStream(p, p)
	return len(p), nil
}
