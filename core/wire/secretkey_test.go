package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/hostile"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

func presetParams(t testing.TB, p params.Preset) hefloat.Parameters {
	t.Helper()
	prm, err := p.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	return prm
}

// TestSecretKeyRoundTrip checks that a key decodes to exactly the residues Lattigo's
// key generator made, with and without special primes.
func TestSecretKeyRoundTrip(t *testing.T) {
	for _, preset := range []params.Preset{params.InsecureN11, params.InsecureN12S} {
		prm := presetParams(t, preset)
		sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
		data, err := EncodeSecretKey(prm, sk)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) != HeaderSize+prm.N()/4 {
			t.Fatalf("%s: %d bytes", preset.Name, len(data))
		}
		got, err := DecodeSecretKey(data, prm)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Value.Equal(&sk.Value) {
			t.Fatalf("%s: the decoded key differs from the generated one", preset.Name)
		}
		again, _ := EncodeSecretKey(prm, got)
		if !bytes.Equal(again, data) {
			t.Fatalf("%s: re-encoding differs", preset.Name)
		}
	}
}

// TestSecretKeyFilesNeverReachLattigo is hole 1 of issue 12: a key file of the right
// length with one inner length field changed overflowed the stack in Lattigo's
// decoder, a huge limb count exhausted memory, ragged rows panicked at encryption and
// the P part was never checked. The format has no length fields now; every mutation is
// an error of class ErrMalformed or a valid ternary key.
// TestSecretKeyReproducers writes (checks) the reproducers of hole 1 for the C and
// Python tests: Lattigo's encoding of a secret key for InsecureN11QP215, of exactly
// the length Lattigo expects, with the first row's length field set to 0x80000 (a
// fatal stack overflow in Lattigo's decoder) or the limb count to 2^40 (a fatal
// "cannot allocate").
func TestSecretKeyReproducers(t *testing.T) {
	prm := presetParams(t, params.InsecureN11)
	lattigo, err := rlwe.NewSecretKey(prm).MarshalBinary() // the zero key: the same bytes every time
	if err != nil {
		t.Fatal(err)
	}
	fp := params.FingerprintOf(prm)
	for name, patch := range map[string]func([]byte){
		"secret_key_row_length.bin": func(b []byte) { binary.LittleEndian.PutUint64(b[8:], 0x80000) },
		"secret_key_limb_count.bin": func(b []byte) { binary.LittleEndian.PutUint64(b[0:], 1<<40) },
	} {
		b := bytes.Clone(lattigo)
		patch(b)
		data := Seal(Header{Kind: KindSecretKey, Params: fp}, b)
		hostile.Check(t, name, data)
		if _, err := DecodeSecretKey(data, prm); !errors.Is(err, errs.ErrMalformed) {
			t.Errorf("%s: %v, want a malformed-input error", name, err)
		}
	}
}

func TestSecretKeyFilesNeverReachLattigo(t *testing.T) {
	prm := presetParams(t, params.InsecureN12S)
	sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	data, err := EncodeSecretKey(prm, sk)
	if err != nil {
		t.Fatal(err)
	}
	// Lattigo's own encoding of the same key, and the reproducers: a row length of
	// 0x80000 and a limb count of 2^40 in it.
	lattigo, err := sk.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	inflatedRow := bytes.Clone(lattigo)
	binary.LittleEndian.PutUint64(inflatedRow[8:], 0x80000)
	inflatedLimbs := bytes.Clone(lattigo)
	binary.LittleEndian.PutUint64(inflatedLimbs[0:], 1<<40)
	fp := params.FingerprintOf(prm)
	seal := func(p []byte) []byte { return Seal(Header{Kind: KindSecretKey, Params: fp}, p) }
	invalidCode := bytes.Clone(data)
	invalidCode[HeaderSize+5] |= 0x0c // coefficient 21: code 3
	cases := map[string][]byte{
		"lattigo encoding":      seal(lattigo),
		"inflated row length":   seal(inflatedRow),
		"inflated limb count":   seal(inflatedLimbs),
		"invalid code":          invalidCode,
		"truncated":             data[:len(data)-1],
		"extended":              append(bytes.Clone(data), 0),
		"length field mismatch": append(bytes.Clone(data[:len(data)-4]), 0, 0, 0, 0, 0),
	}
	for name, c := range cases {
		if _, err := DecodeSecretKey(c, prm); !errors.Is(err, errs.ErrMalformed) {
			t.Errorf("%s: %v, want a malformed-input error", name, err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		m := bytes.Clone(data)
		for range 1 + rng.IntN(8) {
			m[HeaderSize+rng.IntN(len(m)-HeaderSize)] = byte(rng.Uint32())
		}
		got, err := DecodeSecretKey(m, prm)
		if err != nil {
			if !errors.Is(err, errs.ErrMalformed) {
				t.Fatalf("mutation: %v", err)
			}
			continue
		}
		// A valid key: it round-trips and encrypts.
		if again, _ := EncodeSecretKey(prm, got); !bytes.Equal(again, m) {
			t.Fatal("an accepted mutation does not round-trip")
		}
		if ct := rlwe.NewEncryptor(prm, got).EncryptZeroNew(prm.MaxLevel()); ct.Degree() != 1 {
			t.Fatal("no ciphertext")
		}
	}
}
