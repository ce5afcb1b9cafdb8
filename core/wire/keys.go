package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// EvaluationKeys is the public key material a server needs for a plan: exactly the
// relinearization and Galois keys its manifest lists. Batch plans square without
// relinearizing and never rotate, so theirs are empty but still name the parameters
// they were made for.
type EvaluationKeys struct {
	Params          params.Fingerprint
	Relinearization *rlwe.RelinearizationKey
	Galois          []*rlwe.GaloisKey
}

// KeySet returns the keys as the set Lattigo's evaluators read.
func (k *EvaluationKeys) KeySet() *rlwe.MemEvaluationKeySet {
	return rlwe.NewMemEvaluationKeySet(k.Relinearization, k.Galois...)
}

// Check reports whether k was made for the parameters of manifest m and holds
// exactly the keys it lists, at their levels.
func (k *EvaluationKeys) Check(m *manifest.Manifest, prm hefloat.Parameters) error {
	if k.Params != m.ParamsFingerprint || params.FingerprintOf(prm) != m.ParamsFingerprint {
		return errs.New(errs.ErrMismatch, "wire: evaluation keys made for other CKKS parameters")
	}
	_, err := k.ordered(keySpecs(m, prm))
	return err
}

// keySpec is one key a manifest asks for: the relinearization key (galEl 0) or the
// Galois key of galEl, with its levels in Q and P.
type keySpec struct {
	galEl          uint64
	levelQ, levelP int
}

// keySpecs lists the keys manifest m (validated: one level per Galois element) asks
// for, in wire order: the relinearization key first, then the Galois keys in the
// manifest's order.
func keySpecs(m *manifest.Manifest, prm hefloat.Parameters) []keySpec {
	var specs []keySpec
	if m.Relinearize {
		specs = append(specs, keySpec{levelQ: prm.MaxLevelQ(), levelP: prm.MaxLevelP()})
	}
	for i, g := range m.GaloisElements {
		specs = append(specs, keySpec{galEl: g, levelQ: m.GaloisLevels[i], levelP: prm.MaxLevelP()})
	}
	return specs
}

// keyHeaderLen is the per-key header: Galois element u64, level Q u16, level P u16.
const keyHeaderLen = 8 + 2 + 2

// gadgetBytes is the packed size of a degree-1 gadget ciphertext at the spec's levels.
func gadgetBytes(prm hefloat.Parameters, s keySpec) int {
	n := prm.N()
	perVector := 2 * (polyBytes(n, prm.Q(), s.levelQ) + polyBytes(n, prm.P(), s.levelP))
	return prm.BaseRNSDecompositionVectorSize(s.levelQ, s.levelP) * perVector
}

// maxManifestBytes bounds the manifest the evaluation keys carry.
const maxManifestBytes = 64 << 20

// evaluationKeysLen is the exact payload length for the given keys and the encoded
// manifest of manifestLen bytes they carry.
func evaluationKeysLen(prm hefloat.Parameters, specs []keySpec, manifestLen int) int {
	size := 4 + manifestLen + 4
	for _, s := range specs {
		size += keyHeaderLen + gadgetBytes(prm, s)
	}
	return size
}

// EvaluationKeysSize returns the exact size of sealed evaluation keys for manifest m
// (validated), whose parameters are prm, computed from the manifest alone: what a
// client checks before making any key.
func EvaluationKeysSize(m *manifest.Manifest, prm hefloat.Parameters) (int64, error) {
	man, err := m.MarshalBinary()
	if err != nil {
		return 0, err
	}
	size := int64(HeaderSize + 4 + len(man) + 4)
	for _, s := range keySpecs(m, prm) {
		size += keyHeaderLen + int64(gadgetBytes(prm, s))
	}
	return size, nil
}

// EncodeEvaluationKeys seals evaluation keys for manifest m, whose parameters are prm.
// The keys must be exactly those the manifest lists.
//
// Payload: the manifest's length u32 and the manifest (CBOR, as
// manifest.MarshalBinary), so that a server learns from the keys alone which plan to
// compile; then key count u32, then for each key (relinearization first, then the Galois
// keys in the manifest's order) its Galois element (0 for relinearization) u64, level
// Q u16, level P u16 and its gadget vectors, polynomials bit-packed as in ciphertexts.
func EncodeEvaluationKeys(k *EvaluationKeys, m *manifest.Manifest, prm hefloat.Parameters) ([]byte, error) {
	if err := k.Check(m, prm); err != nil {
		return nil, err
	}
	specs := keySpecs(m, prm)
	keys, err := k.ordered(specs)
	if err != nil {
		return nil, err
	}
	man, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	size := evaluationKeysLen(prm, specs, len(man))
	out := make([]byte, 0, HeaderSize+size)
	out = append(out, encodeHeader(Header{Kind: KindEvaluationKeys, Params: m.ParamsFingerprint, Plan: m.Fingerprint(),
		PayloadLen: uint64(size)})...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(man)))
	out = append(out, man...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(specs)))
	for i, s := range specs {
		out = binary.LittleEndian.AppendUint64(out, s.galEl)
		out = binary.LittleEndian.AppendUint16(out, uint16(s.levelQ))
		out = binary.LittleEndian.AppendUint16(out, uint16(s.levelP))
		for _, row := range keys[i].Value {
			for _, vec := range row {
				for _, p := range vec {
					out = packQP(out, prm, p)
				}
			}
		}
	}
	return out, nil
}

// ordered returns the gadget ciphertexts of k in the order of specs, checking that k
// holds exactly those keys at those levels.
func (k *EvaluationKeys) ordered(specs []keySpec) ([]*rlwe.GadgetCiphertext, error) {
	byEl := map[uint64]*rlwe.GaloisKey{}
	for _, g := range k.Galois {
		byEl[g.GaloisElement] = g
	}
	out := make([]*rlwe.GadgetCiphertext, len(specs))
	for i, s := range specs {
		var gc *rlwe.GadgetCiphertext
		if s.galEl == 0 {
			if k.Relinearization == nil {
				return nil, errs.New(errs.ErrMismatch, "wire: the relinearization key is missing")
			}
			gc = &k.Relinearization.GadgetCiphertext
		} else {
			g, ok := byEl[s.galEl]
			if !ok {
				return nil, errs.New(errs.ErrMismatch, "wire: the Galois key for element %d is missing", s.galEl)
			}
			gc = &g.GadgetCiphertext
		}
		if gc.LevelQ() != s.levelQ || gc.LevelP() != s.levelP || gc.BaseTwoDecomposition != 0 {
			return nil, errs.New(errs.ErrMismatch, "wire: key %d is at levels (%d, %d), the manifest asks for (%d, %d)", s.galEl, gc.LevelQ(), gc.LevelP(), s.levelQ, s.levelP)
		}
		out[i] = gc
	}
	if len(k.Galois) != len(byEl) || len(byEl)+boolInt(k.Relinearization != nil) != len(specs) {
		return nil, errs.New(errs.ErrMismatch, "wire: the evaluation keys hold keys the manifest does not list")
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// packQP appends the Q and P parts of p.
func packQP(out []byte, prm hefloat.Parameters, p ringqp.Poly) []byte {
	for l, row := range p.Q.Coeffs {
		out = packRow(out, row, prm.Q()[l])
	}
	for l, row := range p.P.Coeffs {
		out = packRow(out, row, prm.P()[l])
	}
	return out
}

// DecodeEvaluationKeys opens evaluation keys and checks that they were made for the
// parameters and plan of manifest m and hold exactly the keys it lists: the length is
// computed from our own parameters before anything is read, every key header must match
// the manifest, and every coefficient must be below its prime. Lattigo's decoders never
// see the bytes.
func DecodeEvaluationKeys(data []byte, m *manifest.Manifest) (*EvaluationKeys, error) {
	prm, err := m.Parameters()
	if err != nil {
		return nil, err
	}
	h, err := Peek(data)
	if err != nil {
		return nil, err
	}
	if h.Kind != KindEvaluationKeys {
		return nil, errs.New(errs.ErrMismatch, "wire: expected %s, got %s", KindEvaluationKeys, h.Kind)
	}
	payload, err := Open(data, KindEvaluationKeys, m.ParamsFingerprint, m.Fingerprint())
	if err != nil {
		return nil, err
	}
	man, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	specs := keySpecs(m, prm)
	if want := evaluationKeysLen(prm, specs, len(man)); len(payload) != want {
		return nil, errs.New(errs.ErrMalformed, "wire: evaluation keys are %d bytes, the manifest's keys take exactly %d", len(payload), want)
	}
	if got := payload[4 : 4+len(man)]; int(binary.LittleEndian.Uint32(payload)) != len(man) || !bytes.Equal(got, man) {
		return nil, errs.New(errs.ErrMismatch, "wire: the evaluation keys were made for another manifest")
	}
	payload = payload[4+len(man):]
	if int(binary.LittleEndian.Uint32(payload)) != len(specs) {
		return nil, errs.New(errs.ErrMismatch, "wire: evaluation keys hold %d keys, the manifest lists %d", binary.LittleEndian.Uint32(payload), len(specs))
	}
	src := payload[4:]
	keys := &EvaluationKeys{Params: m.ParamsFingerprint}
	nthRoot := prm.RingQ().NthRoot()
	for _, s := range specs {
		galEl := binary.LittleEndian.Uint64(src)
		levelQ, levelP := int(binary.LittleEndian.Uint16(src[8:])), int(binary.LittleEndian.Uint16(src[10:]))
		if galEl != s.galEl || levelQ != s.levelQ || levelP != s.levelP {
			return nil, errs.New(errs.ErrMismatch, "wire: key for element %d at levels (%d, %d), the manifest lists element %d at (%d, %d)",
				galEl, levelQ, levelP, s.galEl, s.levelQ, s.levelP)
		}
		if s.galEl != 0 && !manifest.RotationElement(s.galEl, nthRoot) {
			return nil, errs.New(errs.ErrMalformed, "wire: Galois element %d is not a rotation", s.galEl)
		}
		src = src[keyHeaderLen:]
		evkParams := rlwe.EvaluationKeyParameters{LevelQ: &levelQ, LevelP: &levelP}
		var gc *rlwe.GadgetCiphertext
		if s.galEl == 0 {
			keys.Relinearization = rlwe.NewRelinearizationKey(prm, evkParams)
			gc = &keys.Relinearization.GadgetCiphertext
		} else {
			g := rlwe.NewGaloisKey(prm, evkParams)
			g.GaloisElement = s.galEl
			keys.Galois = append(keys.Galois, g)
			gc = &g.GadgetCiphertext
		}
		for _, row := range gc.Value {
			for _, vec := range row {
				for _, p := range vec {
					if src, err = unpackQP(src, prm, p); err != nil {
						return nil, fmt.Errorf("key for element %d: %w", s.galEl, err)
					}
				}
			}
		}
	}
	return keys, nil
}

// unpackQP fills the Q and P parts of p from src and returns the rest of src.
func unpackQP(src []byte, prm hefloat.Parameters, p ringqp.Poly) ([]byte, error) {
	for _, part := range []struct {
		poly   ring.Poly
		moduli []uint64
	}{{p.Q, prm.Q()}, {p.P, prm.P()}} {
		for l, row := range part.poly.Coeffs {
			size := rowBytes(len(row), part.moduli[l])
			if !unpackRow(src[:size], row, part.moduli[l]) {
				return nil, errs.New(errs.ErrMalformed, "wire: a key coefficient is not reduced modulo its prime")
			}
			src = src[size:]
		}
	}
	return src, nil
}

// EvaluationKeysManifest returns the manifest that sealed evaluation keys were made
// for, validated, without reading the keys: what a server compiles to serve them
// (DecodeEvaluationKeys then checks the keys against it). Only the envelope and the
// manifest are read; the manifest must match the envelope's fingerprints.
func EvaluationKeysManifest(data []byte) (*manifest.Manifest, error) {
	h, err := Peek(data)
	if err != nil {
		return nil, err
	}
	if h.Kind != KindEvaluationKeys {
		return nil, errs.New(errs.ErrMismatch, "wire: expected %s, got %s", KindEvaluationKeys, h.Kind)
	}
	payload := data[HeaderSize:]
	if len(payload) < 4 {
		return nil, errs.New(errs.ErrMalformed, "wire: evaluation keys of %d bytes are truncated", len(payload))
	}
	n := int64(binary.LittleEndian.Uint32(payload))
	if n > maxManifestBytes || n > int64(len(payload)-4) {
		return nil, errs.New(errs.ErrMalformed, "wire: the evaluation keys' manifest of %d bytes does not fit", n)
	}
	return openManifest(payload[4:4+n], h, "evaluation keys' manifest")
}
