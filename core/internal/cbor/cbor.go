// Package cbor encodes and decodes the project's CBOR documents (model files and wire
// payload headers) with limits suited to untrusted input.
package cbor

import (
	"bytes"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/ugorji/go/codec"
)

// newHandle returns a CBOR handle that rejects unknown fields and bounds nesting and
// up-front allocation, so a hostile length field cannot reserve memory it does not fill.
func newHandle() *codec.CborHandle {
	h := &codec.CborHandle{}
	h.MaxInitLen = 1 << 12
	h.MaxDepth = maxDepth
	h.ErrorIfNoField = true
	h.Canonical = true
	return h
}

// Marshal encodes v as canonical CBOR.
func Marshal(v any) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.ErrInternal, "cbor: encode: %v", r)
		}
	}()
	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, newHandle()).Encode(v); err != nil {
		return nil, errs.New(errs.ErrInternal, "cbor: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes one CBOR document that must fill data exactly into v. The
// document is scanned first (see scan): a length field the input does not fill, or
// more nesting or containers than the limits, is an error before anything is
// allocated for it. The decoded value never aliases data.
func Unmarshal(data []byte, v any) (err error) {
	if err := scan(data); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.ErrMalformed, "cbor: malformed input: %v", r)
		}
	}()
	dec := codec.NewDecoderBytes(data, newHandle())
	if err := dec.Decode(v); err != nil {
		return errs.New(errs.ErrMalformed, "cbor: malformed input: %w", err)
	}
	if n := dec.NumBytesRead(); n != len(data) {
		return errs.New(errs.ErrMalformed, "cbor: %d trailing bytes after the document", len(data)-n)
	}
	return nil
}
