package packing

import "math"

// Work counts what one request of a compiled plan computes, in limb-polynomial
// operations (N coefficients each), with the seconds one coefficient of each costs
// on the reference machine (2 cores, AMD EPYC, the CI machine class). Each packing
// measures its own units: see BenchmarkCostModel in package compile.
type Work struct {
	// MulAdds are coefficient-wise products accumulated into a limb-polynomial
	// (weights, tensor products, key products, base conversions).
	MulAdds float64
	// NTTs are limb-polynomials transformed (each N·log N butterflies).
	NTTs float64
	// Encrypted and Decrypted are the limb-polynomials the client encrypts (c0 and
	// c1) and decrypts.
	Encrypted, Decrypted float64
	// Units are the seconds per coefficient of each kind of work.
	Units Units
}

// Units are the measured seconds of one coefficient of work, on both cores.
type Units struct {
	// MulAdd is one multiply-accumulate, or one NTT butterfly.
	MulAdd float64
	// Encrypt and Decrypt are per coefficient of a limb-polynomial encrypted
	// (sampling, NTT, sealing) or decrypted (opening, decoding).
	Encrypt, Decrypt float64
}

// Seconds is the modelled time of one request by phase, for ring degree n.
type Seconds struct{ Encrypt, Evaluate, Decrypt float64 }

// Total is the sum of the phases.
func (s Seconds) Total() float64 { return s.Encrypt + s.Evaluate + s.Decrypt }

// Seconds returns the modelled time of the request for ring degree n.
func (w Work) Seconds(n int) Seconds {
	f := float64(n)
	return Seconds{
		Encrypt:  w.Encrypted * f * w.Units.Encrypt,
		Evaluate: (w.MulAdds + w.NTTs*math.Log2(f)) * f * w.Units.MulAdd,
		Decrypt:  w.Decrypted * f * w.Units.Decrypt,
	}
}
