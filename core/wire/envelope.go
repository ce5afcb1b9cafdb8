// Package wire is the envelope every serialized object travels in, and the objects
// themselves: evaluation keys, encrypted batches, encrypted results and secret keys.
// A decoder checks magic, version, kind, fingerprints and the exact expected length
// before any byte reaches a Lattigo decoder, whose own checks are not safe on
// untrusted input.
package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/params"
)

// Version is the envelope format version.
const Version = 3

// Kind says what an envelope holds.
type Kind uint16

// The object kinds.
const (
	KindManifest Kind = iota + 1
	KindEvaluationKeys
	KindEncryptedBatch
	KindEncryptedResult
	KindSecretKey
	// KindBatchSequence and KindResultSequence start a sequence: several encrypted
	// batches (one upload of several requests) or their results (see sequence.go).
	KindBatchSequence
	KindResultSequence
)

// String names the kind, for messages.
func (k Kind) String() string {
	switch k {
	case KindManifest:
		return "manifest"
	case KindEvaluationKeys:
		return "evaluation keys"
	case KindEncryptedBatch:
		return "encrypted batch"
	case KindEncryptedResult:
		return "encrypted result"
	case KindSecretKey:
		return "secret key"
	case KindBatchSequence:
		return "encrypted batch sequence"
	case KindResultSequence:
		return "encrypted result sequence"
	}
	return fmt.Sprintf("unknown kind %d", uint16(k))
}

// Magic starts every envelope.
const Magic = "CNET"

// Header is the fixed-size front of every envelope.
type Header struct {
	Kind Kind
	// Params is the fingerprint of the CKKS parameters the payload is for.
	Params params.Fingerprint
	// Plan is the fingerprint of the model plan (zero for objects that only depend on
	// the parameters, such as keys).
	Plan [32]byte
	// PayloadLen is the exact length of the payload that follows.
	PayloadLen uint64
}

// HeaderSize is the encoded size of a Header.
const HeaderSize = 4 + 2 + 2 + 16 + 32 + 8

// Seal prepends a header to payload.
func Seal(h Header, payload []byte) []byte {
	h.PayloadLen = uint64(len(payload))
	return append(encodeHeader(h), payload...)
}

// encodeHeader encodes h as it stands, PayloadLen included.
func encodeHeader(h Header) []byte {
	out := make([]byte, 0, HeaderSize)
	out = append(out, Magic...)
	out = binary.LittleEndian.AppendUint16(out, Version)
	out = binary.LittleEndian.AppendUint16(out, uint16(h.Kind))
	out = append(out, h.Params[:]...)
	out = append(out, h.Plan[:]...)
	return binary.LittleEndian.AppendUint64(out, h.PayloadLen)
}

// Peek decodes the header of data without checking it against expectations; the
// payload must be exactly the rest of data.
func Peek(data []byte) (Header, error) {
	h, err := PeekHeader(data)
	if err != nil {
		return h, err
	}
	if h.PayloadLen != uint64(len(data)-HeaderSize) {
		return h, errs.New(errs.ErrMalformed, "wire: %s payload is %d bytes, header says %d (truncated or extended)", h.Kind, len(data)-HeaderSize, h.PayloadLen)
	}
	return h, nil
}

// PeekHeader decodes the header at the front of data (magic, version, kind,
// fingerprints, payload length), whatever follows it.
func PeekHeader(data []byte) (Header, error) {
	var h Header
	if len(data) < HeaderSize {
		return h, errs.New(errs.ErrMalformed, "wire: %d bytes is too short for an envelope (%d-byte header)", len(data), HeaderSize)
	}
	if string(data[:4]) != Magic {
		return h, errs.New(errs.ErrMalformed, "wire: not a cryptonets object (bad magic)")
	}
	if v := binary.LittleEndian.Uint16(data[4:]); v != Version {
		return h, errs.New(errs.ErrMalformed, "wire: envelope version %d, this library reads version %d", v, Version)
	}
	h.Kind = Kind(binary.LittleEndian.Uint16(data[6:]))
	copy(h.Params[:], data[8:24])
	copy(h.Plan[:], data[24:56])
	h.PayloadLen = binary.LittleEndian.Uint64(data[56:])
	return h, nil
}

// Open checks data's header against the expected kind and fingerprints and returns
// the payload. A zero plan expectation skips the plan check.
func Open(data []byte, kind Kind, prm params.Fingerprint, plan [32]byte) ([]byte, error) {
	h, err := Peek(data)
	if err != nil {
		return nil, err
	}
	if err := h.expect(kind, prm, plan); err != nil {
		return nil, err
	}
	return data[HeaderSize:], nil
}

// expect checks h against the expected kind and fingerprints (a zero plan skips the
// plan check).
func (h Header) expect(kind Kind, prm params.Fingerprint, plan [32]byte) error {
	switch {
	case h.Kind != kind:
		return errs.New(errs.ErrMismatch, "wire: expected %s, got %s", kind, h.Kind)
	case h.Params != prm:
		return errs.New(errs.ErrMismatch, "wire: %s made for other CKKS parameters", kind)
	case plan != [32]byte{} && h.Plan != plan:
		return errs.New(errs.ErrMismatch, "wire: %s made for another model plan", kind)
	}
	return nil
}
