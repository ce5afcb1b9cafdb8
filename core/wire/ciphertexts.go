package wire

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"math/big"
	"runtime"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/seeded"
	"github.com/cryptonets/cryptonets/core/internal/workers"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// Ciphertexts is a list of same-shape ciphertexts carrying values for Images images:
// an encrypted batch (client → server) or an encrypted result (server → client).
//
// Payload layout (little-endian): images u32, count u32, degree u16, level u16,
// scale length u16, seed length u16 (0 or SeedSize), the request (RequestSize bytes),
// the scale (decimal text, exact), the seed, then the polynomials, bit-packed limb by
// limb (see pack.go): count·(degree+1) of them, or, for a seeded batch, only the c0
// components, count of them. Lattigo's own ciphertext decoder is never used on
// received bytes.
type Ciphertexts struct {
	Images int
	// Request identifies the request: a batch's, or the one a result answers.
	Request     Request
	Ciphertexts []*rlwe.Ciphertext
	// Seed, when set, says that the c1 component of ciphertext k was drawn by
	// seeded.ExpandC1(…, Seed, k, …): only c0 travels, and the receiver regenerates c1.
	Seed []byte
}

// Clone returns a deep copy of c: what a caller keeps when it hands c to an evaluation
// that consumes its input.
func (c *Ciphertexts) Clone() *Ciphertexts {
	out := &Ciphertexts{Images: c.Images, Request: c.Request, Ciphertexts: make([]*rlwe.Ciphertext, len(c.Ciphertexts))}
	for i, ct := range c.Ciphertexts {
		out.Ciphertexts[i] = ct.CopyNew()
	}
	if c.Seed != nil {
		out.Seed = append([]byte(nil), c.Seed...)
	}
	return out
}

// SeedSize is the length of a request's seed.
const SeedSize = seeded.SeedSize

// Request identifies one request of a client: a random identifier and a tag the
// client computes with a key of its own over the identifier and the request's image
// count (package client). A server copies a batch's Request into its result; the
// client then checks that the result answers the request it expects, for as many
// images as it sent.
type Request struct {
	ID  [16]byte
	Tag [16]byte
}

// RequestSize is the encoded size of a Request.
const RequestSize = 32

// Bytes returns the request's encoding: the identifier, then the tag.
func (r Request) Bytes() []byte { return append(r.ID[:len(r.ID):len(r.ID)], r.Tag[:]...) }

// ParseRequest decodes a Request encoded by Bytes.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	if len(b) != RequestSize {
		return r, errs.New(errs.ErrMalformed, "wire: a request is %d bytes, got %d", RequestSize, len(b))
	}
	copy(r.ID[:], b)
	copy(r.Tag[:], b[len(r.ID):])
	return r, nil
}

// Shape is what a receiver expects of a Ciphertexts payload.
type Shape struct {
	Count, Degree, Level int
	// LogScale is log2 of the expected scale; the received scale must match it.
	LogScale float64
	// MaxImages bounds Images.
	MaxImages int
}

const fixedLen = 4 + 4 + 2 + 2 + 2 + 2 + RequestSize

// maxScaleText bounds the scale's text form.
const maxScaleText = 512

// PayloadSize returns the exact payload length of cts for parameters prm.
func (c *Ciphertexts) PayloadSize(prm hefloat.Parameters) (int, error) {
	if len(c.Ciphertexts) == 0 || c.Ciphertexts[0] == nil {
		return 0, errs.New(errs.ErrMalformed, "wire: no ciphertexts")
	}
	ct := c.Ciphertexts[0]
	text, err := ct.Scale.Value.MarshalText()
	if err != nil {
		return 0, err
	}
	if ct.Level() > prm.MaxLevel() {
		return 0, errs.New(errs.ErrMalformed, "wire: ciphertext level %d above the parameters' %d", ct.Level(), prm.MaxLevel())
	}
	return fixedLen + len(text) + len(c.Seed) + len(c.Ciphertexts)*c.polysSent(ct.Degree())*polyBytes(prm.N(), prm.Q(), ct.Level()), nil
}

// polysSent is how many polynomials of each ciphertext travel.
func (c *Ciphertexts) polysSent(degree int) int {
	if c.Seed != nil {
		return 1
	}
	return degree + 1
}

// WritePayload writes the payload of cts, made for parameters prm, to w, packing the
// ciphertexts on every core.
func (c *Ciphertexts) WritePayload(w io.Writer, prm hefloat.Parameters) error {
	if len(c.Ciphertexts) == 0 || c.Ciphertexts[0] == nil {
		return errs.New(errs.ErrMalformed, "wire: no ciphertexts")
	}
	first := c.Ciphertexts[0]
	degree, level := first.Degree(), first.Level()
	if level > prm.MaxLevel() || first.Value[0].N() != prm.N() {
		return errs.New(errs.ErrMalformed, "wire: ciphertexts do not belong to the parameters")
	}
	if c.Seed != nil && (len(c.Seed) != SeedSize || degree != 1) {
		return errs.New(errs.ErrMalformed, "wire: a seeded batch has a %d-byte seed and degree-1 ciphertexts", SeedSize)
	}
	for i, ct := range c.Ciphertexts {
		if ct == nil || ct.Degree() != degree || ct.Level() != level || !ct.Scale.Equal(first.Scale) {
			return errs.New(errs.ErrMalformed, "wire: ciphertext %d differs in degree, level or scale from the first", i)
		}
	}
	head, err := payloadHead(c.Images, len(c.Ciphertexts), degree, level, first.Scale, c.Request, c.Seed)
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	sent := c.polysSent(degree)
	return writePolys(w, prm, level, len(c.Ciphertexts), sent, runtime.GOMAXPROCS(0), chunkBytes, func(_, k int) ([]ring.Poly, error) {
		return c.Ciphertexts[k].Value[:sent], nil
	})
}

// payloadHead returns the front of a ciphertexts payload: the fixed fields, the scale
// and the seed.
func payloadHead(images, count, degree, level int, scale rlwe.Scale, req Request, seed []byte) ([]byte, error) {
	text, err := scale.Value.MarshalText()
	if err != nil {
		return nil, err
	}
	head := make([]byte, fixedLen, fixedLen+len(text)+len(seed))
	binary.LittleEndian.PutUint32(head[0:], uint32(images))
	binary.LittleEndian.PutUint32(head[4:], uint32(count))
	binary.LittleEndian.PutUint16(head[8:], uint16(degree))
	binary.LittleEndian.PutUint16(head[10:], uint16(level))
	binary.LittleEndian.PutUint16(head[12:], uint16(len(text)))
	binary.LittleEndian.PutUint16(head[14:], uint16(len(seed)))
	copy(head[requestAt:], req.Bytes())
	return append(append(head, text...), seed...), nil
}

// chunkBytes is about how many packed bytes writePolys prepares before each write.
const chunkBytes = 8 << 20

// writePolys writes the packed polynomials of count ciphertexts at level, sent
// polynomials each, which polys(worker, k) returns for ciphertext k. The ciphertexts
// are packed chunk by chunk (of about chunk bytes), each chunk on procs goroutines
// (worker numbers them: polys is not called again by a worker before what it
// returned is packed), and written in order while the next chunk is packed.
func writePolys(w io.Writer, prm hefloat.Parameters, level, count, sent, procs, chunk int, polys func(worker, k int) ([]ring.Poly, error)) error {
	n, moduli := prm.N(), prm.Q()
	size := sent * polyBytes(n, moduli, level)
	per := max(procs, chunk/size)
	bufs := [2][]byte{make([]byte, min(per, count)*size)}
	if count > per {
		bufs[1] = make([]byte, len(bufs[0]))
	}
	var writing chan error // the write of the previous chunk, if any
	wait := func() error {
		if writing == nil {
			return nil
		}
		err := <-writing
		writing = nil
		return err
	}
	for c, start := 0, 0; start < count; c, start = c+1, start+per {
		buf := bufs[c%2] // the chunk before the previous one is written
		cts := min(per, count-start)
		err := workers.Run(cts, procs, func(worker, i int) error {
			ps, err := polys(worker, start+i)
			if err != nil {
				return err
			}
			if len(ps) != sent {
				return errs.New(errs.ErrInternal, "wire: ciphertext %d has %d polynomials to send, want %d", start+i, len(ps), sent)
			}
			dst := buf[i*size : i*size : (i+1)*size]
			for _, p := range ps {
				if len(p.Coeffs) <= level {
					return errs.New(errs.ErrInternal, "wire: ciphertext %d is below level %d", start+i, level)
				}
				for l, row := range p.Coeffs[:level+1] {
					if len(row) != n {
						return errs.New(errs.ErrInternal, "wire: ciphertext %d has a row of %d coefficients, want %d", start+i, len(row), n)
					}
					dst = packRow(dst, row, moduli[l])
				}
			}
			return nil
		})
		if werr := wait(); err == nil {
			err = werr
		}
		if err != nil {
			return err
		}
		writing = make(chan error, 1)
		go func(b []byte) {
			_, err := w.Write(b)
			writing <- err
		}(buf[:cts*size])
	}
	return wait()
}

// SeededBatch is an encrypted batch sealed as its ciphertexts are made
// (WriteSeededBatch), so that they never all sit in memory: the fields of a seeded
// Ciphertexts, with the ciphertexts' count, level and scale in place of the
// ciphertexts.
type SeededBatch struct {
	Images  int
	Request Request
	Seed    []byte
	Count   int
	Level   int
	Scale   rlwe.Scale
}

// payloadSize returns the exact payload length of b for parameters prm.
func (b *SeededBatch) payloadSize(prm hefloat.Parameters) (int, error) {
	if len(b.Seed) != SeedSize || b.Count < 1 || b.Level < 0 || b.Level > prm.MaxLevel() {
		return 0, errs.New(errs.ErrInvalidArgument, "wire: a seeded batch needs a %d-byte seed, ciphertexts and a level up to %d", SeedSize, prm.MaxLevel())
	}
	text, err := b.Scale.Value.MarshalText()
	if err != nil {
		return 0, err
	}
	return fixedLen + len(text) + SeedSize + b.Count*polyBytes(prm.N(), prm.Q(), b.Level), nil
}

// CiphertextsHeader is the fixed front of a ciphertexts payload.
type CiphertextsHeader struct {
	Images, Count, Degree, Level int
	// LogScale is log2 of the scale.
	LogScale float64
	// Seeded says only the c0 components travel (see Ciphertexts.Seed).
	Seeded bool
	// Request identifies the request.
	Request Request
	// CoefficientBytes is the length of the payload after the header.
	CoefficientBytes int
}

// PolyBytes is the packed size of one polynomial at level for parameters prm, or -1
// if the parameters have no such level.
func PolyBytes(prm hefloat.Parameters, level int) int {
	if level < 0 || level > prm.MaxLevel() {
		return -1
	}
	return polyBytes(prm.N(), prm.Q(), level)
}

// WellFormed reports whether the coefficient bytes are exactly what the header
// implies for parameters prm.
func (c CiphertextsHeader) WellFormed(prm hefloat.Parameters) bool {
	polys := c.Degree + 1
	if c.Seeded {
		polys = 1
	}
	size := PolyBytes(prm, c.Level)
	return size > 0 && int64(c.CoefficientBytes) == int64(c.Count)*int64(polys)*int64(size)
}

// PeekCiphertexts reads the header of an encrypted batch or result envelope without
// the manifest, for inspection: nothing is checked beyond the envelope and the header.
func PeekCiphertexts(data []byte) (Header, CiphertextsHeader, error) {
	h, err := Peek(data)
	if err != nil {
		return h, CiphertextsHeader{}, err
	}
	if h.Kind != KindEncryptedBatch && h.Kind != KindEncryptedResult {
		return h, CiphertextsHeader{}, errs.New(errs.ErrMismatch, "wire: %s holds no ciphertexts", h.Kind)
	}
	payload := data[HeaderSize:]
	if len(payload) < fixedLen {
		return h, CiphertextsHeader{}, errs.New(errs.ErrMalformed, "wire: payload of %d bytes is truncated", len(payload))
	}
	c, scaleLen, seedLen := fixedFields(payload[:fixedLen])
	if scaleLen == 0 || scaleLen > maxScaleText || fixedLen+scaleLen+seedLen > len(payload) {
		return h, c, errs.New(errs.ErrMalformed, "wire: bad scale or seed field")
	}
	f, err := scaleValue(payload[fixedLen : fixedLen+scaleLen])
	if err != nil {
		return h, c, err
	}
	c.LogScale = log2Float(f)
	c.CoefficientBytes = len(payload) - fixedLen - scaleLen - seedLen
	return h, c, nil
}

// fixedFields decodes the fixed front of a ciphertexts payload (fixedLen bytes): the
// header fields it holds (not LogScale nor CoefficientBytes), and the lengths of the
// scale and seed that follow it.
func fixedFields(b []byte) (c CiphertextsHeader, scaleLen, seedLen int) {
	c = CiphertextsHeader{
		Images: int(binary.LittleEndian.Uint32(b[0:])),
		Count:  int(binary.LittleEndian.Uint32(b[4:])),
		Degree: int(binary.LittleEndian.Uint16(b[8:])),
		Level:  int(binary.LittleEndian.Uint16(b[10:])),
	}
	scaleLen = int(binary.LittleEndian.Uint16(b[12:]))
	seedLen = int(binary.LittleEndian.Uint16(b[14:]))
	c.Seeded = seedLen > 0
	c.Request, _ = ParseRequest(b[requestAt:fixedLen])
	return c, scaleLen, seedLen
}

// scaleValue parses a scale's text: a positive, finite number.
func scaleValue(text []byte) (*big.Float, error) {
	f := new(big.Float).SetPrec(256)
	if err := f.UnmarshalText(text); err != nil || f.Sign() <= 0 || f.IsInf() {
		return nil, errs.New(errs.ErrMalformed, "wire: invalid scale")
	}
	return f, nil
}

func log2Float(f *big.Float) float64 {
	mant := new(big.Float)
	exp := f.MantExp(mant)
	m, _ := mant.Float64()
	return float64(exp) + math.Log2(m)
}

// maxPayloadSize bounds the payload of ciphertexts of the expected shape under prm
// (every field a payload may carry at its largest): what a reader of a stream may
// accept for one before decoding it.
func maxPayloadSize(want Shape, prm hefloat.Parameters) int64 {
	size := PolyBytes(prm, want.Level)
	if size < 0 {
		return 0
	}
	return fixedLen + maxScaleText + SeedSize + int64(want.Count)*int64(want.Degree+1)*int64(size)
}

// readCiphertexts decodes and validates a payload against the expected shape.
func readCiphertexts(payload []byte, prm hefloat.Parameters, want Shape) (*Ciphertexts, error) {
	front, err := readFront(bytes.NewReader(payload), int64(len(payload)), prm, want)
	if err != nil {
		return nil, err
	}
	return front.decode(sliceChunks(payload[front.size:]), prm)
}

// payloadFront is the front of a ciphertexts payload (see payloadHead), read and
// checked against a Shape: everything but the polynomials.
type payloadFront struct {
	CiphertextsHeader // its LogScale and CoefficientBytes unset: scale and size say them
	scale             rlwe.Scale
	seed              []byte
	// size is the front's length in bytes.
	size int
}

// readFront reads the front of a payload of payloadLen bytes from r and checks it,
// and the payload's length, against the expected shape: the polynomials that follow
// (r is left at them) are then exactly what the front announces.
func readFront(r io.Reader, payloadLen int64, prm hefloat.Parameters, want Shape) (*payloadFront, error) {
	if payloadLen < fixedLen {
		return nil, errs.New(errs.ErrMalformed, "wire: payload of %d bytes is truncated", payloadLen)
	}
	var fixed [fixedLen]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return nil, errs.New(errs.ErrMalformed, "wire: the payload is truncated: %w", err)
	}
	c, scaleLen, seedLen := fixedFields(fixed[:])
	h := &payloadFront{CiphertextsHeader: c}
	switch {
	case seedLen != 0 && (seedLen != SeedSize || h.Degree != 1):
		return nil, errs.New(errs.ErrMalformed, "wire: bad seed field")
	case h.Images < 1 || h.Images > want.MaxImages:
		return nil, errs.New(errs.ErrMalformed, "wire: %d images, want 1 to %d", h.Images, want.MaxImages)
	case h.Count != want.Count || h.Degree != want.Degree || h.Level != want.Level:
		return nil, errs.New(errs.ErrMismatch, "wire: %d ciphertexts of degree %d at level %d, want %d of degree %d at level %d",
			h.Count, h.Degree, h.Level, want.Count, want.Degree, want.Level)
	case scaleLen == 0 || scaleLen > maxScaleText || int64(fixedLen+scaleLen) > payloadLen:
		return nil, errs.New(errs.ErrMalformed, "wire: bad scale field")
	case h.Level > prm.MaxLevel():
		return nil, errs.New(errs.ErrMalformed, "wire: level %d above the parameters' %d", h.Level, prm.MaxLevel())
	}
	h.size = fixedLen + scaleLen + seedLen
	polys := h.Degree + 1
	if h.Seeded {
		polys = 1
	}
	if expected := int64(h.size) + int64(h.Count)*int64(polys)*int64(polyBytes(prm.N(), prm.Q(), h.Level)); payloadLen != expected {
		return nil, errs.New(errs.ErrMalformed, "wire: payload is %d bytes, expected exactly %d (truncated or extended)", payloadLen, expected)
	}
	rest := make([]byte, scaleLen+seedLen)
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, errs.New(errs.ErrMalformed, "wire: the payload is truncated: %w", err)
	}
	var err error
	if h.scale, err = parseScale(rest[:scaleLen], want.LogScale); err != nil {
		return nil, err
	}
	if seedLen > 0 {
		h.seed = rest[scaleLen:]
	}
	return h, nil
}

// decode decodes the polynomials that follow the front, which next returns in order
// (see readPolys), into the ciphertexts the front announces.
func (h *payloadFront) decode(next func(n int) ([]byte, error), prm hefloat.Parameters) (*Ciphertexts, error) {
	out := &Ciphertexts{Images: h.Images, Request: h.Request, Seed: h.seed, Ciphertexts: make([]*rlwe.Ciphertext, h.Count)}
	n, moduli := prm.N(), prm.Q()
	sent := out.polysSent(h.Degree)
	var expand *seeded.Expander
	if out.Seed != nil {
		var err error
		if expand, err = seeded.NewExpander(moduli); err != nil {
			return nil, err
		}
	}
	err := readPolys(next, sent*polyBytes(n, moduli, h.Level), h.Count, runtime.GOMAXPROCS(0), chunkBytes, func(i int, src []byte) error {
		ct := rlwe.NewCiphertext(prm, h.Degree, h.Level)
		if expand != nil {
			if err := expand.Expand(out.Seed, i, h.Level, ct.Value[1]); err != nil {
				return err
			}
		}
		for _, p := range ct.Value[:sent] {
			for l, coeffs := range p.Coeffs[:h.Level+1] {
				size := rowBytes(n, moduli[l])
				if !unpackRow(src[:size], coeffs, moduli[l]) {
					return errs.New(errs.ErrMalformed, "wire: ciphertext %d has a coefficient not reduced modulo its prime", i)
				}
				src = src[size:]
			}
		}
		ct.IsNTT = true
		ct.IsBatched = true
		ct.Scale = h.scale
		ct.LogDimensions = prm.LogMaxDimensions()
		out.Ciphertexts[i] = ct
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readPolys decodes count ciphertexts of size packed bytes each: chunk by chunk (of
// about chunk bytes), each chunk on procs goroutines while next reads the following
// one. next(n) returns the next n bytes; what it returned may be overwritten by the
// call after the next.
func readPolys(next func(n int) ([]byte, error), size, count, procs, chunk int, decode func(k int, src []byte) error) error {
	per := max(procs, chunk/size)
	type read struct {
		data []byte
		err  error
	}
	reading := make(chan read, 1)
	fetch := func(start int) {
		if start >= count {
			return
		}
		go func() {
			data, err := next(min(per, count-start) * size)
			reading <- read{data, err}
		}()
	}
	fetch(0)
	for start := 0; start < count; start += per {
		got := <-reading
		if got.err != nil {
			return got.err
		}
		fetch(start + per)
		err := workers.Run(len(got.data)/size, procs, func(_, i int) error {
			return decode(start+i, got.data[i*size:(i+1)*size])
		})
		if err != nil {
			if start+per < count {
				<-reading // the read under way uses the other buffer
			}
			return err
		}
	}
	return nil
}

// sliceChunks returns the successive chunks of data (see readPolys).
func sliceChunks(data []byte) func(n int) ([]byte, error) {
	return func(n int) ([]byte, error) {
		if n > len(data) {
			return nil, errs.New(errs.ErrInternal, "wire: %d bytes left, %d asked for", len(data), n)
		}
		out := data[:n]
		data = data[n:]
		return out, nil
	}
}

// readerChunks reads the successive chunks of r (see readPolys) into two buffers,
// used in turn.
func readerChunks(r io.Reader) func(n int) ([]byte, error) {
	var bufs [2][]byte
	turn := 0
	return func(n int) ([]byte, error) {
		buf := &bufs[turn%2]
		turn++
		if cap(*buf) < n {
			*buf = make([]byte, n)
		}
		data := (*buf)[:n]
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, errs.New(errs.ErrMalformed, "wire: the payload is truncated: %w", err)
		}
		return data, nil
	}
}

func parseScale(text []byte, wantLog2 float64) (rlwe.Scale, error) {
	f, err := scaleValue(text)
	if err != nil {
		return rlwe.Scale{}, err
	}
	if got := log2Float(f); math.Abs(got-wantLog2) > 1e-9 {
		return rlwe.Scale{}, errs.New(errs.ErrMismatch, "wire: scale 2^%.6f, expected 2^%.6f", got, wantLog2)
	}
	return rlwe.NewScale(f), nil
}
