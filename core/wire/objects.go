package wire

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// EncodeManifest seals a manifest.
func EncodeManifest(m *manifest.Manifest) ([]byte, error) {
	payload, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return Seal(Header{Kind: KindManifest, Params: m.ParamsFingerprint, Plan: m.Fingerprint()}, payload), nil
}

// DecodeManifest opens and validates a manifest. Its envelope is checked before the
// payload is decoded: the plan fingerprint must be the digest of the payload (a
// manifest's fingerprint is the digest of its canonical encoding).
func DecodeManifest(data []byte) (*manifest.Manifest, error) {
	h, err := Peek(data)
	if err != nil {
		return nil, err
	}
	if h.Kind != KindManifest {
		return nil, errs.New(errs.ErrMismatch, "wire: expected %s, got %s", KindManifest, h.Kind)
	}
	return openManifest(data[HeaderSize:], h, "manifest")
}

// openManifest decodes an encoded manifest that travelled under envelope h, after
// checking the envelope's plan fingerprint against the bytes (the parameter
// fingerprint is checked against the parameters the manifest names once decoded).
func openManifest(payload []byte, h Header, what string) (*manifest.Manifest, error) {
	if sha256.Sum256(payload) != h.Plan {
		return nil, errs.New(errs.ErrMalformed, "wire: the %s does not match its envelope's fingerprint", what)
	}
	m := new(manifest.Manifest)
	if err := m.UnmarshalBinary(payload); err != nil {
		return nil, fmt.Errorf("wire: %s: %w", what, err)
	}
	if m.ParamsFingerprint != h.Params || m.Fingerprint() != h.Plan {
		return nil, errs.New(errs.ErrMalformed, "wire: the %s does not match its envelope", what)
	}
	return m, nil
}

// BatchShape is the shape of an encrypted batch (one request) for manifest m.
func BatchShape(m *manifest.Manifest) Shape {
	return Shape{Count: m.InputCiphertexts, Degree: 1, Level: m.InputLevel, LogScale: float64(m.InputLogScale), MaxImages: m.ImagesPerBatch}
}

// ResultShape is the shape of an encrypted result for manifest m.
func ResultShape(m *manifest.Manifest) Shape {
	return Shape{Count: m.ResultCiphertexts(), Degree: m.OutputDegree, Level: m.OutputLevel, LogScale: m.OutputLogScale, MaxImages: m.ImagesPerBatch}
}

// WriteCiphertexts writes cts in an envelope of the given kind for manifest m, whose
// parameters are prm.
func WriteCiphertexts(w io.Writer, kind Kind, m *manifest.Manifest, prm hefloat.Parameters, cts *Ciphertexts) (int64, error) {
	size, err := cts.PayloadSize(prm)
	if err != nil {
		return 0, err
	}
	head := encodeHeader(Header{Kind: kind, Params: m.ParamsFingerprint, Plan: m.Fingerprint(), PayloadLen: uint64(size)})
	if _, err := w.Write(head); err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	if err := cts.WritePayload(cw, prm); err != nil {
		return 0, err
	}
	return int64(len(head)) + cw.n, nil
}

// WriteSeededBatch writes b in an envelope of KindEncryptedBatch for manifest m, whose
// parameters are prm: the bytes WriteCiphertexts writes for the seeded Ciphertexts
// of the same fields. c0(worker, k) returns the c0 component of ciphertext k; it is
// called on up to procs goroutines at once, numbered by worker, and what it returns
// is packed before the same worker calls it again (so each worker may reuse one
// ciphertext).
func WriteSeededBatch(w io.Writer, m *manifest.Manifest, prm hefloat.Parameters, b *SeededBatch, procs int, c0 func(worker, k int) (ring.Poly, error)) (int64, error) {
	size, err := b.payloadSize(prm)
	if err != nil {
		return 0, err
	}
	head, err := payloadHead(b.Images, b.Count, 1, b.Level, b.Scale, b.Request, b.Seed)
	if err != nil {
		return 0, err
	}
	head = append(encodeHeader(Header{Kind: KindEncryptedBatch, Params: m.ParamsFingerprint, Plan: m.Fingerprint(), PayloadLen: uint64(size)}), head...)
	if _, err := w.Write(head); err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	err = writePolys(cw, prm, b.Level, b.Count, 1, procs, chunkBytes, func(worker, k int) ([]ring.Poly, error) {
		p, err := c0(worker, k)
		return []ring.Poly{p}, err
	})
	return int64(len(head)) + cw.n, err
}

// EncodeCiphertexts returns cts sealed in an envelope of the given kind for manifest m,
// whose parameters are prm.
func EncodeCiphertexts(kind Kind, m *manifest.Manifest, prm hefloat.Parameters, cts *Ciphertexts) ([]byte, error) {
	size, err := cts.PayloadSize(prm)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(HeaderSize + size)
	if _, err := WriteCiphertexts(&buf, kind, m, prm, cts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeCiphertexts opens an envelope of the given kind for manifest m and decodes its
// ciphertexts after checking their count, degree, level, scale and exact length.
func DecodeCiphertexts(data []byte, kind Kind, m *manifest.Manifest, prm hefloat.Parameters) (*Ciphertexts, error) {
	payload, err := Open(data, kind, m.ParamsFingerprint, m.Fingerprint())
	if err != nil {
		return nil, err
	}
	shape := BatchShape(m)
	if kind == KindEncryptedResult {
		shape = ResultShape(m)
	}
	return readCiphertexts(payload, prm, shape)
}

type countingWriter struct {
	w io.Writer
	n int64
}

// Write writes p to the underlying writer and counts the bytes written.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
