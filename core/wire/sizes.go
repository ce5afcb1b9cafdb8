package wire

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// The exact sizes of what travels, known from a manifest before any byte is read:
// what a server checks a request's length against before it reads the body.

// EncryptedBatchSize returns the exact length of a sealed encrypted batch (one
// request) for manifest m as clients make it: seeded (Client.Encrypt), at the
// manifest's input level and scale.
func EncryptedBatchSize(m *manifest.Manifest) (int64, error) {
	prm, err := m.Parameters()
	if err != nil {
		return 0, err
	}
	inScale := rlwe.NewScale(math.Ldexp(1, m.InputLogScale))
	scale, err := inScale.Value.MarshalText()
	if err != nil {
		return 0, errs.New(errs.ErrInternal, "wire: %w", err)
	}
	poly := int64(polyBytes(prm.N(), prm.Q(), m.InputLevel))
	return HeaderSize + fixedLen + int64(len(scale)) + SeedSize + int64(m.InputCiphertexts)*poly, nil
}

// MaxEncryptedResultSize bounds the length of a sealed encrypted result for manifest
// m: its ciphertexts at the manifest's output level and degree, with a scale of up to
// the longest text a decoder accepts.
func MaxEncryptedResultSize(m *manifest.Manifest) (int64, error) {
	prm, err := m.Parameters()
	if err != nil {
		return 0, err
	}
	poly := int64(polyBytes(prm.N(), prm.Q(), m.OutputLevel))
	return HeaderSize + fixedLen + maxScaleText + int64(m.Result.Ciphertexts)*int64(m.OutputDegree+1)*poly, nil
}

// EvaluationKeysMemory returns the memory evaluation keys for manifest m take once
// decoded: one word per coefficient of every key.
func EvaluationKeysMemory(m *manifest.Manifest) (int64, error) {
	prm, err := m.Parameters()
	if err != nil {
		return 0, err
	}
	var words int64
	for _, s := range keySpecs(m, prm) {
		perVector := 2 * int64(s.levelQ+1+s.levelP+1) * int64(prm.N())
		words += int64(prm.BaseRNSDecompositionVectorSize(s.levelQ, s.levelP)) * perVector
	}
	return 8 * words, nil
}

// ReadEvaluationKeysHead reads the front of sealed evaluation keys from r: the
// envelope and the manifest the keys were made for, which it validates. It returns
// the bytes it read, the manifest and the exact length of the whole object, so that a
// receiver knows how much more to read before it reads it; the rest is checked by
// DecodeEvaluationKeys.
func ReadEvaluationKeysHead(r io.Reader) (head []byte, m *manifest.Manifest, size int64, err error) {
	head = make([]byte, HeaderSize+4)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, nil, 0, errs.New(errs.ErrMalformed, "wire: evaluation keys: truncated envelope: %w", err)
	}
	if string(head[:4]) != Magic {
		return nil, nil, 0, errs.New(errs.ErrMalformed, "wire: not a cryptonets object (bad magic)")
	}
	if v := binary.LittleEndian.Uint16(head[4:]); v != Version {
		return nil, nil, 0, errs.New(errs.ErrMalformed, "wire: envelope version %d, this library reads version %d", v, Version)
	}
	if k := Kind(binary.LittleEndian.Uint16(head[6:])); k != KindEvaluationKeys {
		return nil, nil, 0, errs.New(errs.ErrMismatch, "wire: expected %s, got %s", KindEvaluationKeys, k)
	}
	n := int64(binary.LittleEndian.Uint32(head[HeaderSize:]))
	if n > maxManifestBytes {
		return nil, nil, 0, errs.New(errs.ErrMalformed, "wire: the evaluation keys' manifest of %d bytes is too large", n)
	}
	buf := bytes.NewBuffer(head)
	if _, err := io.CopyN(buf, r, n); err != nil { // grows with what arrives, not with n
		return nil, nil, 0, errs.New(errs.ErrMalformed, "wire: evaluation keys: truncated manifest: %w", err)
	}
	head = buf.Bytes()
	m = new(manifest.Manifest)
	if err := m.UnmarshalBinary(head[HeaderSize+4:]); err != nil {
		return nil, nil, 0, err
	}
	if m.ParamsFingerprint != params.Fingerprint(head[8:24]) || m.Fingerprint() != [32]byte(head[24:56]) {
		return nil, nil, 0, errs.New(errs.ErrMalformed, "wire: the evaluation keys' manifest does not match their envelope")
	}
	prm, err := m.Parameters()
	if err != nil {
		return nil, nil, 0, err
	}
	if size, err = EvaluationKeysSize(m, prm); err != nil {
		return nil, nil, 0, err
	}
	if got := binary.LittleEndian.Uint64(head[56:]); got != uint64(size-HeaderSize) {
		return nil, nil, 0, errs.New(errs.ErrMalformed, "wire: the envelope says %d bytes of keys, the manifest's keys take exactly %d", got, size-HeaderSize)
	}
	return head, m, size, nil
}

// SequenceHeaderSize is the length of a sequence's front: its envelope and the
// counts of requests and images (see SequenceReader).
const SequenceHeaderSize = HeaderSize + sequencePayloadLen

// UploadSize returns the exact length of an upload of the given number of requests
// for manifest m as clients make them (EncryptedBatchSize each): a single request's
// envelope, or a sequence.
func UploadSize(m *manifest.Manifest, requests int) (int64, error) {
	one, err := EncryptedBatchSize(m)
	if err != nil || requests == 1 {
		return one, err
	}
	return SequenceHeaderSize + int64(requests)*one, nil
}
