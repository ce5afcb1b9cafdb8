package wire

import (
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// A secret key travels (to the client's own storage only) as its N ternary
// coefficients, two bits each, four to a byte, least significant first: 0 is 0, 1 is
// +1, 2 is −1; 3 is invalid. The payload length is exactly N/4 bytes, a layout fixed
// by the parameters: the decoder builds the key's residues modulo every prime of Q and
// P itself, so no stored byte reaches a Lattigo decoder, rows cannot be short or
// long, residues cannot be unreduced and the key is the same polynomial in every limb.

// secretKeyBytes is the payload length of a secret key for prm.
func secretKeyBytes(prm hefloat.Parameters) int { return prm.N() / 4 }

// EncodeSecretKey seals a secret key. Only the client ever calls it.
func EncodeSecretKey(prm hefloat.Parameters, sk *rlwe.SecretKey) ([]byte, error) {
	coeffs, err := ternaryOf(prm, sk)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, secretKeyBytes(prm))
	for i, c := range coeffs {
		code := byte(c) // 0 → 0, 1 → 1
		if c < 0 {
			code = 2
		}
		payload[i/4] |= code << (2 * (i % 4))
	}
	return Seal(Header{Kind: KindSecretKey, Params: params.FingerprintOf(prm)}, payload), nil
}

// ternaryOf returns the coefficients of sk, which must be ternary.
func ternaryOf(prm hefloat.Parameters, sk *rlwe.SecretKey) ([]int8, error) {
	if sk == nil || sk.Value.Q.N() != prm.N() || sk.LevelQ() != prm.MaxLevelQ() || sk.LevelP() != prm.MaxLevelP() {
		return nil, errs.New(errs.ErrInvalidArgument, "wire: the secret key does not belong to the parameters")
	}
	ringQ := prm.RingQ().AtLevel(0)
	p := ringQ.NewPoly()
	ringQ.IMForm(sk.Value.Q, p)
	ringQ.INTT(p, p)
	q := prm.Q()[0]
	out := make([]int8, prm.N())
	for i, v := range p.Coeffs[0] {
		switch v {
		case 0:
		case 1:
			out[i] = 1
		case q - 1:
			out[i] = -1
		default:
			return nil, errs.New(errs.ErrInvalidArgument, "wire: the secret key is not ternary")
		}
	}
	return out, nil
}

// DecodeSecretKey opens a secret key for prm: the envelope, then exactly N/4 bytes of
// valid two-bit codes, from which it builds the key's residues itself.
func DecodeSecretKey(data []byte, prm hefloat.Parameters) (*rlwe.SecretKey, error) {
	payload, err := Open(data, KindSecretKey, params.FingerprintOf(prm), [32]byte{})
	if err != nil {
		return nil, err
	}
	// A secret key belongs to no plan: its plan field is zero, so that a key has
	// exactly one encoding.
	if h, _ := Peek(data); h.Plan != [32]byte{} {
		return nil, errs.New(errs.ErrMalformed, "wire: a secret key names no model plan, this one names one")
	}
	if want := secretKeyBytes(prm); len(payload) != want {
		return nil, errs.New(errs.ErrMalformed, "wire: secret key is %d bytes, expected %d", len(payload), want)
	}
	coeffs := make([]int8, prm.N())
	for i := range coeffs {
		switch (payload[i/4] >> (2 * (i % 4))) & 3 {
		case 1:
			coeffs[i] = 1
		case 2:
			coeffs[i] = -1
		case 3:
			return nil, errs.New(errs.ErrMalformed, "wire: secret key coefficient %d has the invalid code 3", i)
		}
	}
	sk := rlwe.NewSecretKey(prm)
	setTernary(sk.Value.Q, prm.Q(), coeffs)
	if sk.Value.P.Level() >= 0 {
		setTernary(sk.Value.P, prm.P(), coeffs)
	}
	ringQP := prm.RingQP()
	ringQP.NTT(sk.Value, sk.Value)
	ringQP.MForm(sk.Value, sk.Value)
	return sk, nil
}

// setTernary writes the residues of the ternary coefficients modulo every prime.
func setTernary(p ring.Poly, moduli []uint64, coeffs []int8) {
	for l, q := range moduli {
		row := p.Coeffs[l]
		for i, c := range coeffs {
			switch c {
			case 1:
				row[i] = 1
			case -1:
				row[i] = q - 1
			default:
				row[i] = 0
			}
		}
	}
}
