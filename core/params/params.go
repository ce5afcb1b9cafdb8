// Package params defines the CKKS parameter sets the library uses, checks every set
// against the HE-standard security bounds, and fingerprints parameters so that
// objects made for other parameters are recognised before they are decoded.
package params

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// Preset is a named CKKS parameter set.
type Preset struct {
	// Name identifies the preset in manifests, the CLI and the C and Python APIs.
	Name string
	// Literal is the Lattigo parameter literal.
	Literal hefloat.ParametersLiteral
	// Insecure marks a set below 128-bit security, for fast tests only.
	Insecure bool
}

// The presets. All use the conjugate-invariant ring (N real slots), a uniform ternary
// secret and error σ = 3.2.
var (
	// N13 has 8192 real slots and log Q = 215 ≤ 218, no special prime: 128-bit
	// secure. Batch plans of shallow networks (CryptoNets) need no key switching.
	N13 = Preset{Name: "N13QP215", Literal: literal(13, []int{45, 43, 43, 42, 42})}
	// InsecureN11 has N13's moduli on a ring of degree 2048: fast, and NOT secure.
	InsecureN11 = Preset{Name: "InsecureN11QP215", Literal: literal(11, []int{45, 43, 43, 42, 42}), Insecure: true}
)

// The presets for batch plans that relinearize (deeper networks): primes below 2^50
// for batch packing's integer kernels, and one special prime for the
// relinearization key.
var (
	// N13R has 8192 slots and log QP = 217 ≤ 218: 128-bit secure.
	N13R = Preset{Name: "N13QP217R", Literal: relinLiteral(13, 40, 4, 33, 45)}
	// N14R has 16384 slots and log QP = 438 ≤ 438: 128-bit secure.
	N14R = Preset{Name: "N14QP438R", Literal: relinLiteral(14, 45, 10, 34, 49)}
	// InsecureN11R has N13R's moduli on a ring of degree 2048: fast, and NOT secure.
	InsecureN11R = Preset{Name: "InsecureN11QP217R", Literal: relinLiteral(11, 40, 4, 33, 45), Insecure: true}
	// InsecureN12R has N14R's moduli on a ring of degree 4096: fast, and NOT secure.
	InsecureN12R = Preset{Name: "InsecureN12QP438R", Literal: relinLiteral(12, 45, 10, 34, 49), Insecure: true}
)

// relinLiteral has a first prime of q0 bits, levels primes of qi bits and one
// special prime of p bits.
func relinLiteral(logN, q0, levels, qi, p int) hefloat.ParametersLiteral {
	logQ := []int{q0}
	for range levels {
		logQ = append(logQ, qi)
	}
	return hefloat.ParametersLiteral{LogN: logN, LogQ: logQ, LogP: []int{p}, LogDefaultScale: 30, RingType: ring.ConjugateInvariant}
}

// The presets for plans that need key switching (single-image packing): the standard
// conjugate-invariant ring (N real slots, like the batch presets), one special prime
// for rotations and relinearization, and levels at scale 2^28: five at N = 8192, 13
// at N = 16384 for deeper networks (fitted polynomial activations).
var (
	// N13S has 8192 slots and log QP = 215 ≤ 218: 128-bit secure.
	N13S = Preset{Name: "N13QP215S", Literal: keySwitchLiteral(13, 35, 5, 40)}
	// N14S has 16384 slots and log QP = 437 ≤ 438: 128-bit secure.
	N14S = Preset{Name: "N14QP437S", Literal: keySwitchLiteral(14, 36, 13, 37)}
	// InsecureN12S has N13S's moduli on a ring of degree 4096: fast, and NOT secure.
	InsecureN12S = Preset{Name: "InsecureN12QP215S", Literal: keySwitchLiteral(12, 35, 5, 40), Insecure: true}
	// InsecureN12DeepS has N14S's moduli on a ring of degree 4096: fast, and NOT secure.
	InsecureN12DeepS = Preset{Name: "InsecureN12QP437S", Literal: keySwitchLiteral(12, 36, 13, 37), Insecure: true}
)

// keySwitchLiteral has a first prime of q0 bits, levels primes of 28 bits and one
// special prime of p bits.
func keySwitchLiteral(logN, q0, levels, p int) hefloat.ParametersLiteral {
	logQ := []int{q0}
	for range levels {
		logQ = append(logQ, 28)
	}
	return hefloat.ParametersLiteral{LogN: logN, LogQ: logQ, LogP: []int{p},
		LogDefaultScale: 28, RingType: ring.ConjugateInvariant}
}

func literal(logN int, logQ []int) hefloat.ParametersLiteral {
	return hefloat.ParametersLiteral{LogN: logN, LogQ: logQ, LogDefaultScale: 30, RingType: ring.ConjugateInvariant}
}

// Secure lists the 128-bit presets.
func Secure() []Preset { return append(Batch(), KeySwitching()...) }

// Batch lists the 128-bit presets for batch packing, the cheapest first: without key
// switching, then with a relinearization key, smallest ring first.
func Batch() []Preset { return []Preset{N13, N13R, N14R} }

// BatchTest lists the insecure twins of Batch's presets, for fast tests.
func BatchTest() []Preset { return []Preset{InsecureN11, InsecureN11R, InsecureN12R} }

// KeySwitching lists the 128-bit presets with special primes, for plans that rotate
// or relinearize (single-image packing).
func KeySwitching() []Preset { return []Preset{N13S, N14S} }

// All lists every preset, the insecure test presets last.
func All() []Preset {
	return append(Secure(), InsecureN11, InsecureN11R, InsecureN12R, InsecureN12S, InsecureN12DeepS)
}

// ByFingerprint returns the preset whose parameters have fingerprint f.
func ByFingerprint(f Fingerprint) (Preset, bool) {
	for _, p := range All() {
		if prm, err := hefloat.NewParametersFromLiteral(p.Literal); err == nil && FingerprintOf(prm) == f {
			return p, true
		}
	}
	return Preset{}, false
}

// ByName returns the preset with the given name. Insecure presets are returned only
// when allowInsecure is set.
func ByName(name string, allowInsecure bool) (Preset, error) {
	for _, p := range All() {
		if p.Name != name {
			continue
		}
		if p.Insecure && !allowInsecure {
			return Preset{}, errs.New(errs.ErrInsecure, "params: %s is an insecure parameter set (below 128-bit security) and must be asked for explicitly", name)
		}
		return p, nil
	}
	return Preset{}, errs.New(errs.ErrInvalidArgument, "params: unknown parameter set %q", name)
}

// Parameters builds the Lattigo parameters of the preset and checks their security:
// a secure preset must reach 128 bits.
func (p Preset) Parameters() (hefloat.Parameters, error) {
	prm, err := hefloat.NewParametersFromLiteral(p.Literal)
	if err != nil {
		return hefloat.Parameters{}, errs.New(errs.ErrInvalidArgument, "params: %s: %w", p.Name, err)
	}
	if _, err := SecurityBits(prm); err != nil && !p.Insecure {
		return hefloat.Parameters{}, errs.New(errs.ErrInsecure, "params: %s: %w", p.Name, err)
	}
	return prm, nil
}

// maxLogQP is the HE standard v1.1 table of the largest log2(QP) for a uniform
// ternary secret and σ = 3.2, by log N, for 128-, 192- and 256-bit security.
var maxLogQP = map[int][3]float64{
	10: {27, 19, 14},
	11: {54, 37, 29},
	12: {109, 75, 58},
	13: {218, 152, 118},
	14: {438, 305, 237},
	15: {881, 611, 476},
}

// SecurityBits returns the classical security level (128, 192 or 256) that the
// HE-standard table grants the parameters, or an error if they fall below 128 bits or
// use a secret or error distribution the table does not cover.
func SecurityBits(p hefloat.Parameters) (int, error) {
	bounds, ok := maxLogQP[p.LogN()]
	if !ok {
		return 0, errs.New(errs.ErrInsecure, "log N = %d is outside the HE-standard table (10 to 15)", p.LogN())
	}
	xs, ok := p.Xs().(ring.Ternary)
	if !ok || xs.H != 0 || math.Abs(xs.P-2.0/3.0) > 1e-9 {
		return 0, errs.New(errs.ErrInsecure, "the secret must be uniform ternary, got %v", p.Xs())
	}
	xe, ok := p.Xe().(ring.DiscreteGaussian)
	if !ok || xe.Sigma < 3.19 {
		return 0, errs.New(errs.ErrInsecure, "the error must be a discrete Gaussian with σ ≥ 3.19, got %v", p.Xe())
	}
	logQP := p.LogQP()
	const tolerance = 0.01
	for i, bits := range []int{256, 192, 128} {
		if logQP <= bounds[2-i]+tolerance {
			return bits, nil
		}
	}
	return 0, errs.New(errs.ErrInsecure, "log QP = %.1f exceeds %.0f, the 128-bit bound for log N = %d", logQP, bounds[0], p.LogN())
}

// Fingerprint is a digest of everything that makes two parameter sets compatible:
// ring degree and type, moduli, distributions and default scale.
type Fingerprint [16]byte

// FingerprintOf computes the fingerprint of p.
func FingerprintOf(p hefloat.Parameters) Fingerprint {
	h := sha256.New()
	put := func(v uint64) { _ = binary.Write(h, binary.LittleEndian, v) }
	h.Write([]byte("cryptonets-params-v1"))
	put(uint64(p.LogN()))
	put(uint64(p.RingType()))
	for _, moduli := range [][]uint64{p.Q(), p.P()} {
		put(uint64(len(moduli)))
		for _, q := range moduli {
			put(q)
		}
	}
	fmt.Fprintf(h, "%v|%v|%v", p.Xs(), p.Xe(), p.LogDefaultScale())
	var f Fingerprint
	copy(f[:], h.Sum(nil))
	return f
}

// String formats the fingerprint in hex.
func (f Fingerprint) String() string { return fmt.Sprintf("%x", f[:]) }
