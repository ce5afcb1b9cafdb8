package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// A sequence carries the requests of one upload (encrypted batches) or their results,
// in order, in one file or stream: any number of records, split into requests of the
// plan's size. It starts with an envelope of kind KindBatchSequence (or
// KindResultSequence) made for the plan, whose 12-byte payload is the number of
// requests (u32) and of images (u64) that follow; then each request is a complete
// envelope of kind KindEncryptedBatch (KindEncryptedResult), read and checked as if it
// came alone. The sequence never looks inside its entries.
//
// A single request travels as its bare envelope: writers of one request write that,
// and readers take either form.

// sequencePayloadLen is the length of a sequence envelope's payload.
const sequencePayloadLen = 4 + 8

// maxSequenceRequests bounds the requests of a sequence.
const maxSequenceRequests = 1 << 24

// sequenceKind returns the kind of the sequence of entries of the given kind.
func sequenceKind(kind Kind) (Kind, error) {
	switch kind {
	case KindEncryptedBatch:
		return KindBatchSequence, nil
	case KindEncryptedResult:
		return KindResultSequence, nil
	}
	return 0, errs.New(errs.ErrInvalidArgument, "wire: no sequence of %s", kind)
}

// checkCounts checks that requests of up to perRequest images each can hold images.
func checkCounts(requests int, images int64, perRequest int) error {
	if requests < 1 || requests > maxSequenceRequests || images < int64(requests) || images > int64(requests)*int64(perRequest) {
		return errs.New(errs.ErrMalformed, "wire: %d requests cannot hold %d images (1 to %d each)", requests, images, perRequest)
	}
	return nil
}

// SequenceWriter writes the requests (or results) of one upload (or download) one at
// a time, so that only one needs to be in memory.
type SequenceWriter struct {
	w        io.Writer
	kind     Kind
	m        *manifest.Manifest
	prm      hefloat.Parameters
	requests int
	images   int64
	written  int
	imgsOut  int64
	bytes    int64
}

// NewSequenceWriter starts an upload (kind KindEncryptedBatch) or a download
// (KindEncryptedResult) of the given numbers of requests and images for manifest m,
// whose parameters are prm. With more than one request it writes the sequence's
// envelope at once.
func NewSequenceWriter(w io.Writer, kind Kind, m *manifest.Manifest, prm hefloat.Parameters, requests, images int) (*SequenceWriter, error) {
	seq, err := sequenceKind(kind)
	if err != nil {
		return nil, err
	}
	if err := checkCounts(requests, int64(images), m.ImagesPerBatch); err != nil {
		return nil, errs.New(errs.ErrInvalidArgument, "%w", err)
	}
	s := &SequenceWriter{w: w, kind: kind, m: m, prm: prm, requests: requests, images: int64(images)}
	if requests == 1 {
		return s, nil
	}
	head := encodeHeader(Header{Kind: seq, Params: m.ParamsFingerprint, Plan: m.Fingerprint(), PayloadLen: sequencePayloadLen})
	head = binary.LittleEndian.AppendUint32(head, uint32(requests))
	head = binary.LittleEndian.AppendUint64(head, uint64(images))
	if _, err := w.Write(head); err != nil {
		return nil, err
	}
	s.bytes = int64(len(head))
	return s, nil
}

// Write writes the next request (or result).
func (s *SequenceWriter) Write(cts *Ciphertexts) error {
	if err := s.checkNext(cts.Images); err != nil {
		return err
	}
	n, err := WriteCiphertexts(s.w, s.kind, s.m, s.prm, cts)
	return s.wrote(cts.Images, n, err)
}

// WriteSeeded writes the next request of an upload as WriteSeededBatch does.
func (s *SequenceWriter) WriteSeeded(b *SeededBatch, procs int, c0 func(worker, k int) (ring.Poly, error)) error {
	if s.kind != KindEncryptedBatch {
		return errs.New(errs.ErrInvalidArgument, "wire: a seeded batch in a sequence of %s", s.kind)
	}
	if err := s.checkNext(b.Images); err != nil {
		return err
	}
	n, err := WriteSeededBatch(s.w, s.m, s.prm, b, procs, c0)
	return s.wrote(b.Images, n, err)
}

// checkNext checks that a next request of the given number of images fits.
func (s *SequenceWriter) checkNext(images int) error {
	left := s.requests - s.written - 1
	switch {
	case left < 0:
		return errs.New(errs.ErrInvalidArgument, "wire: a sequence of %d requests is complete", s.requests)
	case s.imgsOut+int64(images)+int64(left) > s.images || (left == 0 && s.imgsOut+int64(images) != s.images):
		return errs.New(errs.ErrInvalidArgument, "wire: request %d of %d has %d images, which does not add up to the sequence's %d",
			s.written+1, s.requests, images, s.images)
	}
	return nil
}

// wrote counts a request of the given number of images of which n bytes were
// written, unless err.
func (s *SequenceWriter) wrote(images int, n int64, err error) error {
	s.bytes += n
	if err != nil {
		return err
	}
	s.written++
	s.imgsOut += int64(images)
	return nil
}

// Close checks that every request announced was written.
func (s *SequenceWriter) Close() error {
	if s.written != s.requests {
		return errs.New(errs.ErrInvalidArgument, "wire: %d of the sequence's %d requests were written", s.written, s.requests)
	}
	return nil
}

// Bytes returns the number of bytes written so far.
func (s *SequenceWriter) Bytes() int64 { return s.bytes }

// SequenceReader reads the requests (or results) of one upload (or download) from a
// stream, one at a time, checking each as it comes: its envelope against the
// manifest before its payload is read (whose size is bounded by the plan's), its
// payload as DecodeCiphertexts does, and the counts the sequence announced.
type SequenceReader struct {
	r          *countingReader
	kind       Kind
	m          *manifest.Manifest
	prm        hefloat.Parameters
	requests   int
	images     int64
	read       int
	imgsIn     int64
	shape      Shape
	maxPayload int64
	// bare is the front of a single request's payload, read up front.
	bare *payloadFront
}

// NewSequenceReader reads the front of an upload (kind KindEncryptedBatch) or a
// download (KindEncryptedResult) made for manifest m, whose parameters are prm: a
// sequence's envelope, or a single request's whole envelope. It returns io.EOF if r
// is at its end, so that a reader of several uploads in a row knows when to stop.
func NewSequenceReader(r io.Reader, kind Kind, m *manifest.Manifest, prm hefloat.Parameters) (*SequenceReader, error) {
	seq, err := sequenceKind(kind)
	if err != nil {
		return nil, err
	}
	shape := BatchShape(m)
	if kind == KindEncryptedResult {
		shape = ResultShape(m)
	}
	s := &SequenceReader{r: &countingReader{r: r}, kind: kind, m: m, prm: prm, shape: shape, maxPayload: maxPayloadSize(shape, prm)}
	head := make([]byte, HeaderSize)
	if n, err := io.ReadFull(s.r, head); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, errs.New(errs.ErrMalformed, "wire: truncated %s (%d bytes)", kind, n)
	}
	h, err := PeekHeader(head)
	if err != nil {
		return nil, err
	}
	switch h.Kind {
	case kind:
		if s.bare, err = s.openRequest(h, 1, 1); err != nil {
			return nil, err
		}
		s.requests, s.images = 1, int64(s.bare.Images)
		return s, nil
	case seq:
	default:
		return nil, errs.New(errs.ErrMismatch, "wire: expected an %s or a sequence of them, got %s", kind, h.Kind)
	}
	if err := h.expect(seq, m.ParamsFingerprint, m.Fingerprint()); err != nil {
		return nil, err
	}
	if h.PayloadLen != sequencePayloadLen {
		return nil, errs.New(errs.ErrMalformed, "wire: a %s header of %d bytes, want %d", seq, h.PayloadLen, sequencePayloadLen)
	}
	var counts [sequencePayloadLen]byte
	if _, err := io.ReadFull(s.r, counts[:]); err != nil {
		return nil, errs.New(errs.ErrMalformed, "wire: truncated %s header", seq)
	}
	requests, images := binary.LittleEndian.Uint32(counts[:]), binary.LittleEndian.Uint64(counts[4:])
	if images > 1<<62 {
		return nil, errs.New(errs.ErrMalformed, "wire: a %s of %d images", seq, images)
	}
	if err := checkCounts(int(requests), int64(images), m.ImagesPerBatch); err != nil {
		return nil, err
	}
	s.requests, s.images = int(requests), int64(images)
	return s, nil
}

// openRequest checks the envelope header h of request i of n, just read, and reads
// the front of its payload (see readFront): its polynomials follow in the stream.
func (s *SequenceReader) openRequest(h Header, i, n int) (*payloadFront, error) {
	if err := h.expect(s.kind, s.m.ParamsFingerprint, s.m.Fingerprint()); err != nil {
		return nil, errs.New(errs.ClassOf(err), "request %d of %d: %w", i, n, err)
	}
	if h.PayloadLen > uint64(s.maxPayload) {
		return nil, errs.New(errs.ErrMalformed, "wire: request %d of %d: a payload of %d bytes, this plan's are at most %d", i, n, h.PayloadLen, s.maxPayload)
	}
	front, err := readFront(s.r, int64(h.PayloadLen), s.prm, s.shape)
	if err != nil {
		return nil, errs.New(errs.ClassOf(err), "request %d of %d: %w", i, n, err)
	}
	return front, nil
}

// Requests returns the number of requests the upload announced.
func (s *SequenceReader) Requests() int { return s.requests }

// Images returns the number of images the upload announced (Next checks it).
func (s *SequenceReader) Images() int { return int(s.images) }

// Bytes returns the number of bytes read so far.
func (s *SequenceReader) Bytes() int64 { return s.r.n }

// Next reads, checks and decodes the next request (or result); io.EOF after the last.
func (s *SequenceReader) Next() (*Ciphertexts, error) {
	if s.read == s.requests {
		return nil, io.EOF
	}
	i := s.read + 1
	front := s.bare
	if front == nil {
		head := make([]byte, HeaderSize)
		if _, err := io.ReadFull(s.r, head); err != nil {
			return nil, errs.New(errs.ErrMalformed, "wire: request %d of %d is missing: the sequence is truncated", i, s.requests)
		}
		h, err := PeekHeader(head)
		if err != nil {
			return nil, errs.New(errs.ErrMalformed, "request %d of %d: %w", i, s.requests, err)
		}
		if front, err = s.openRequest(h, i, s.requests); err != nil {
			return nil, err
		}
	}
	s.bare = nil
	cts, err := front.decode(readerChunks(s.r), s.prm)
	if err != nil {
		return nil, errs.New(errs.ClassOf(err), "request %d of %d: %w", i, s.requests, err)
	}
	s.read++
	s.imgsIn += int64(cts.Images)
	if left := int64(s.requests - s.read); s.imgsIn+left > s.images || (left == 0 && s.imgsIn != s.images) {
		return nil, errs.New(errs.ErrMalformed, "wire: request %d of %d has %d images, which does not add up to the %d announced",
			i, s.requests, cts.Images, s.images)
	}
	return cts, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// SequenceSize returns the exact length of the upload (or download) of list under
// parameters prm, as WriteSequence writes it.
func SequenceSize(list []*Ciphertexts, prm hefloat.Parameters) (int, error) {
	size := 0
	if len(list) > 1 {
		size = HeaderSize + sequencePayloadLen
	}
	for _, cts := range list {
		n, err := cts.PayloadSize(prm)
		if err != nil {
			return 0, err
		}
		size += HeaderSize + n
	}
	return size, nil
}

// WriteSequence writes the requests (or results) of one upload (or download) to w:
// the bare envelope of a single request, else a sequence.
func WriteSequence(w io.Writer, kind Kind, m *manifest.Manifest, prm hefloat.Parameters, list []*Ciphertexts) error {
	images := 0
	for _, cts := range list {
		images += cts.Images
	}
	sw, err := NewSequenceWriter(w, kind, m, prm, len(list), images)
	if err != nil {
		return err
	}
	for _, cts := range list {
		if err := sw.Write(cts); err != nil {
			return err
		}
	}
	return sw.Close()
}

// EncodeSequence returns the requests (or results) of one upload (or download) in
// one buffer, as WriteSequence writes them.
func EncodeSequence(kind Kind, m *manifest.Manifest, prm hefloat.Parameters, list []*Ciphertexts) ([]byte, error) {
	size, err := SequenceSize(list, prm)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(size)
	if err := WriteSequence(&buf, kind, m, prm, list); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeSequence decodes a whole upload (or download) held in data: a single
// request's envelope or a sequence, and nothing after it.
func DecodeSequence(data []byte, kind Kind, m *manifest.Manifest, prm hefloat.Parameters) ([]*Ciphertexts, error) {
	src := bytes.NewReader(data)
	r, err := NewSequenceReader(src, kind, m, prm)
	if errors.Is(err, io.EOF) {
		return nil, errs.New(errs.ErrMalformed, "wire: no %s: the data are empty", kind)
	}
	if err != nil {
		return nil, err
	}
	var list []*Ciphertexts
	for {
		cts, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		list = append(list, cts)
	}
	if src.Len() > 0 {
		return nil, errs.New(errs.ErrMalformed, "wire: %d bytes after the last request (extended)", src.Len())
	}
	return list, nil
}

// SequenceInfo is what PeekSequence finds in a sequence.
type SequenceInfo struct {
	// Requests and Images are what the sequence announces.
	Requests, Images int
	// Entries are its requests' complete envelopes, in order.
	Entries [][]byte
}

// PeekSequence reads the structure of a sequence held in data without its manifest,
// for inspection: its own envelope and the headers and lengths of its entries. Nothing
// is decoded; the entries must be complete and nothing may follow them.
func PeekSequence(data []byte) (Header, SequenceInfo, error) {
	var info SequenceInfo
	h, err := PeekHeader(data)
	if err != nil {
		return h, info, err
	}
	entry := KindEncryptedBatch
	switch h.Kind {
	case KindBatchSequence:
	case KindResultSequence:
		entry = KindEncryptedResult
	default:
		return h, info, errs.New(errs.ErrMismatch, "wire: %s is not a sequence", h.Kind)
	}
	if h.PayloadLen != sequencePayloadLen || len(data) < HeaderSize+sequencePayloadLen {
		return h, info, errs.New(errs.ErrMalformed, "wire: a %s header of %d bytes, want %d", h.Kind, h.PayloadLen, sequencePayloadLen)
	}
	info.Requests = int(binary.LittleEndian.Uint32(data[HeaderSize:]))
	images := binary.LittleEndian.Uint64(data[HeaderSize+4:])
	if images > 1<<40 {
		return h, info, errs.New(errs.ErrMalformed, "wire: a %s of %d images", h.Kind, images)
	}
	info.Images = int(images)
	if info.Requests < 1 {
		return h, info, errs.New(errs.ErrMalformed, "wire: a %s of no requests", h.Kind)
	}
	rest := data[HeaderSize+sequencePayloadLen:]
	for i := 1; len(rest) > 0; i++ {
		if i > info.Requests {
			return h, info, errs.New(errs.ErrMalformed, "wire: %d bytes after the %d requests announced (extended)", len(rest), info.Requests)
		}
		eh, err := PeekHeader(rest)
		if err != nil {
			return h, info, errs.New(errs.ErrMalformed, "wire: request %d of %d: %w", i, info.Requests, err)
		}
		if eh.Kind != entry || eh.Params != h.Params || eh.Plan != h.Plan {
			return h, info, errs.New(errs.ErrMismatch, "wire: request %d of %d is a %s for other parameters or another plan", i, info.Requests, eh.Kind)
		}
		if eh.PayloadLen > uint64(len(rest)-HeaderSize) {
			return h, info, errs.New(errs.ErrMalformed, "wire: request %d of %d is truncated", i, info.Requests)
		}
		n := HeaderSize + int(eh.PayloadLen)
		info.Entries = append(info.Entries, rest[:n])
		rest = rest[n:]
	}
	if len(info.Entries) != info.Requests {
		return h, info, errs.New(errs.ErrMalformed, "wire: %d of the %d requests announced: the sequence is truncated", len(info.Entries), info.Requests)
	}
	return h, info, nil
}

// requestAt is the offset of the request in a ciphertexts payload.
const requestAt = 16

// ReadRequests reads the requests of an upload (the envelope of a single encrypted
// batch, or a sequence of them) from r, in order, reading only the envelopes' headers
// and the requests and skipping the rest (by seeking, if r can): what a client that
// kept only its upload reads back to decrypt the download (client.ReadDownload).
// Nothing is decoded or checked against a manifest.
func ReadRequests(r io.Reader) ([]Request, error) {
	head := make([]byte, HeaderSize+sequencePayloadLen)
	if _, err := io.ReadFull(r, head[:HeaderSize]); err != nil {
		return nil, errs.New(errs.ErrMalformed, "wire: not an upload: %v", err)
	}
	h, err := PeekHeader(head)
	if err != nil {
		return nil, err
	}
	switch h.Kind {
	case KindEncryptedBatch:
		req, err := readRequest(r, h)
		if err != nil {
			return nil, err
		}
		return []Request{req}, nil
	case KindBatchSequence:
	default:
		return nil, errs.New(errs.ErrMismatch, "wire: expected an upload (an %s or a sequence of them), got %s", KindEncryptedBatch, h.Kind)
	}
	if h.PayloadLen != sequencePayloadLen {
		return nil, errs.New(errs.ErrMalformed, "wire: a %s header of %d bytes, want %d", h.Kind, h.PayloadLen, sequencePayloadLen)
	}
	if _, err := io.ReadFull(r, head[HeaderSize:]); err != nil {
		return nil, errs.New(errs.ErrMalformed, "wire: truncated %s header", h.Kind)
	}
	n := int(binary.LittleEndian.Uint32(head[HeaderSize:]))
	if n < 1 || n > maxSequenceRequests {
		return nil, errs.New(errs.ErrMalformed, "wire: a %s of %d requests", h.Kind, n)
	}
	var out []Request // grown as entries come: the count is the file's word
	for i := 1; i <= n; i++ {
		if _, err := io.ReadFull(r, head[:HeaderSize]); err != nil {
			return nil, errs.New(errs.ErrMalformed, "wire: request %d of %d is missing: the sequence is truncated", i, n)
		}
		eh, err := PeekHeader(head)
		if err != nil {
			return nil, errs.New(errs.ErrMalformed, "request %d of %d: %w", i, n, err)
		}
		if eh.Kind != KindEncryptedBatch {
			return nil, errs.New(errs.ErrMismatch, "wire: request %d of %d is a %s", i, n, eh.Kind)
		}
		req, err := readRequest(r, eh)
		if err != nil {
			return nil, errs.New(errs.ClassOf(err), "request %d of %d: %w", i, n, err)
		}
		out = append(out, req)
	}
	return out, nil
}

// readRequest reads the request of the ciphertexts envelope whose header h was just
// read from r, and skips the rest of its payload.
func readRequest(r io.Reader, h Header) (Request, error) {
	const prefix = requestAt + RequestSize
	if h.PayloadLen < fixedLen {
		return Request{}, errs.New(errs.ErrMalformed, "wire: a %s payload of %d bytes", h.Kind, h.PayloadLen)
	}
	buf := make([]byte, prefix)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Request{}, errs.New(errs.ErrMalformed, "wire: truncated %s", h.Kind)
	}
	rest := int64(h.PayloadLen) - prefix
	var err error
	if sk, ok := r.(io.Seeker); ok {
		_, err = sk.Seek(rest, io.SeekCurrent)
	} else {
		_, err = io.CopyN(io.Discard, r, rest)
	}
	if err != nil {
		return Request{}, errs.New(errs.ErrMalformed, "wire: truncated %s", h.Kind)
	}
	return ParseRequest(buf[requestAt:])
}
