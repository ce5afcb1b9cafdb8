// Package seeded makes and rebuilds seeded ciphertexts: the uniform c1 component of
// ciphertext k of a request is drawn from a public per-request seed, so only c0 and
// the seed travel and the receiver draws the same c1 again.
package seeded

import (
	"encoding/binary"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// SeedSize is the length of a request's seed.
const SeedSize = 32

// PRNG is the source of the uniform c1 component of ciphertext k of a seeded
// request. The seed is public; c1 is uniform whoever knows it, as in any RLWE
// ciphertext.
func PRNG(seed []byte, k int) (sampling.PRNG, error) {
	key := binary.LittleEndian.AppendUint32(append([]byte("cryptonets-c1"), seed...), uint32(k))
	return sampling.NewKeyedPRNG(key)
}

// Encrypt encrypts pt with a secret-key encryptor, drawing c1 from PRNG(seed, k) if a
// seed is given, so that only c0 needs to travel.
func Encrypt(enc *rlwe.Encryptor, pt *rlwe.Plaintext, seed []byte, k int) (*rlwe.Ciphertext, error) {
	if seed == nil {
		return enc.EncryptNew(pt)
	}
	prng, err := PRNG(seed, k)
	if err != nil {
		return nil, err
	}
	return enc.WithPRNG(prng).EncryptNew(pt)
}

// RegenerateC1 draws c1 of a level-`level` ciphertext exactly as Lattigo's
// secret-key encryptor does from the same PRNG (uniform, read directly as NTT-domain
// values).
func RegenerateC1(prm hefloat.Parameters, seed []byte, k int, c1 ring.Poly, level int) error {
	prng, err := PRNG(seed, k)
	if err != nil {
		return err
	}
	ringqp.NewUniformSampler(prng, *prm.RingQP()).AtLevel(level, -1).Read(ringqp.Poly{Q: c1})
	return nil
}
