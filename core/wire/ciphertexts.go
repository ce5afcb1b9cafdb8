package wire

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Ciphertexts is a list of same-shape ciphertexts carrying values for Images images:
// an encrypted batch (client → server) or an encrypted result (server → client).
//
// Payload layout (little-endian): images u32, count u32, degree u16, level u16,
// scale length u16, scale (decimal text, exact), then count·(degree+1)·(level+1)·N
// coefficients as u64, each below its prime. Lattigo's own ciphertext decoder is
// never used on received bytes.
type Ciphertexts struct {
	Images      int
	Ciphertexts []*rlwe.Ciphertext
}

// Shape is what a receiver expects of a Ciphertexts payload.
type Shape struct {
	Count, Degree, Level int
	// LogScale is log2 of the expected scale; the received scale must match it.
	LogScale float64
	// MaxImages bounds Images.
	MaxImages int
}

const fixedLen = 4 + 4 + 2 + 2 + 2

// maxScaleText bounds the scale's text form.
const maxScaleText = 512

// PayloadSize returns the exact payload length of cts.
func (c *Ciphertexts) PayloadSize() (int, error) {
	if len(c.Ciphertexts) == 0 || c.Ciphertexts[0] == nil {
		return 0, fmt.Errorf("%w: no ciphertexts", ErrFormat)
	}
	ct := c.Ciphertexts[0]
	text, err := ct.Scale.Value.MarshalText()
	if err != nil {
		return 0, err
	}
	return fixedLen + len(text) + len(c.Ciphertexts)*(ct.Degree()+1)*(ct.Level()+1)*ct.Value[0].N()*8, nil
}

// WritePayload writes the payload of cts to w.
func (c *Ciphertexts) WritePayload(w io.Writer) error {
	if len(c.Ciphertexts) == 0 || c.Ciphertexts[0] == nil {
		return fmt.Errorf("%w: no ciphertexts", ErrFormat)
	}
	first := c.Ciphertexts[0]
	degree, level := first.Degree(), first.Level()
	text, err := first.Scale.Value.MarshalText()
	if err != nil {
		return err
	}
	head := make([]byte, fixedLen, fixedLen+len(text))
	binary.LittleEndian.PutUint32(head[0:], uint32(c.Images))
	binary.LittleEndian.PutUint32(head[4:], uint32(len(c.Ciphertexts)))
	binary.LittleEndian.PutUint16(head[8:], uint16(degree))
	binary.LittleEndian.PutUint16(head[10:], uint16(level))
	binary.LittleEndian.PutUint16(head[12:], uint16(len(text)))
	if _, err := w.Write(append(head, text...)); err != nil {
		return err
	}
	var row []byte
	for i, ct := range c.Ciphertexts {
		if ct == nil || ct.Degree() != degree || ct.Level() != level || !ct.Scale.Equal(first.Scale) {
			return fmt.Errorf("%w: ciphertext %d differs in degree, level or scale from the first", ErrFormat, i)
		}
		for _, p := range ct.Value {
			for _, coeffs := range p.Coeffs[:level+1] {
				row = row[:0]
				for _, v := range coeffs {
					row = binary.LittleEndian.AppendUint64(row, v)
				}
				if _, err := w.Write(row); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// CiphertextsHeader is the fixed front of a ciphertexts payload.
type CiphertextsHeader struct {
	Images, Count, Degree, Level int
	// LogScale is log2 of the scale.
	LogScale float64
	// CoefficientBytes is the length of the payload after the header: count·(degree+1)·
	// (level+1)·N·8 bytes in a well-formed payload.
	CoefficientBytes int
}

// PeekCiphertexts reads the header of an encrypted batch or result envelope without
// the manifest, for inspection: nothing is checked beyond the envelope and the header.
func PeekCiphertexts(data []byte) (Header, CiphertextsHeader, error) {
	h, err := Peek(data)
	if err != nil {
		return h, CiphertextsHeader{}, err
	}
	if h.Kind != KindEncryptedBatch && h.Kind != KindEncryptedResult {
		return h, CiphertextsHeader{}, fmt.Errorf("%w: %s holds no ciphertexts", ErrMismatch, h.Kind)
	}
	payload := data[HeaderSize:]
	if len(payload) < fixedLen {
		return h, CiphertextsHeader{}, fmt.Errorf("%w: payload of %d bytes is truncated", ErrFormat, len(payload))
	}
	c := CiphertextsHeader{
		Images: int(binary.LittleEndian.Uint32(payload[0:])),
		Count:  int(binary.LittleEndian.Uint32(payload[4:])),
		Degree: int(binary.LittleEndian.Uint16(payload[8:])),
		Level:  int(binary.LittleEndian.Uint16(payload[10:])),
	}
	scaleLen := int(binary.LittleEndian.Uint16(payload[12:]))
	if scaleLen == 0 || scaleLen > maxScaleText || fixedLen+scaleLen > len(payload) {
		return h, c, fmt.Errorf("%w: bad scale field", ErrFormat)
	}
	f := new(big.Float).SetPrec(256)
	if err := f.UnmarshalText(payload[fixedLen : fixedLen+scaleLen]); err != nil || f.Sign() <= 0 || f.IsInf() {
		return h, c, fmt.Errorf("%w: invalid scale", ErrFormat)
	}
	c.LogScale = log2Float(f)
	c.CoefficientBytes = len(payload) - fixedLen - scaleLen
	return h, c, nil
}

func log2Float(f *big.Float) float64 {
	mant := new(big.Float)
	exp := f.MantExp(mant)
	m, _ := mant.Float64()
	return float64(exp) + math.Log2(m)
}

// readCiphertexts decodes and validates a payload against the expected shape.
func readCiphertexts(payload []byte, prm hefloat.Parameters, want Shape) (*Ciphertexts, error) {
	if len(payload) < fixedLen {
		return nil, fmt.Errorf("%w: payload of %d bytes is truncated", ErrFormat, len(payload))
	}
	images := int(binary.LittleEndian.Uint32(payload[0:]))
	count := int(binary.LittleEndian.Uint32(payload[4:]))
	degree := int(binary.LittleEndian.Uint16(payload[8:]))
	level := int(binary.LittleEndian.Uint16(payload[10:]))
	scaleLen := int(binary.LittleEndian.Uint16(payload[12:]))
	switch {
	case images < 1 || images > want.MaxImages:
		return nil, fmt.Errorf("%w: %d images, want 1 to %d", ErrFormat, images, want.MaxImages)
	case count != want.Count || degree != want.Degree || level != want.Level:
		return nil, fmt.Errorf("%w: %d ciphertexts of degree %d at level %d, want %d of degree %d at level %d",
			ErrMismatch, count, degree, level, want.Count, want.Degree, want.Level)
	case scaleLen == 0 || scaleLen > maxScaleText || fixedLen+scaleLen > len(payload):
		return nil, fmt.Errorf("%w: bad scale field", ErrFormat)
	}
	n := prm.N()
	expected := fixedLen + scaleLen + count*(degree+1)*(level+1)*n*8
	if len(payload) != expected {
		return nil, fmt.Errorf("%w: payload is %d bytes, expected exactly %d (truncated or extended)", ErrFormat, len(payload), expected)
	}
	scale, err := parseScale(payload[fixedLen:fixedLen+scaleLen], want.LogScale)
	if err != nil {
		return nil, err
	}
	data := payload[fixedLen+scaleLen:]
	moduli := prm.Q()
	out := &Ciphertexts{Images: images, Ciphertexts: make([]*rlwe.Ciphertext, count)}
	for i := range out.Ciphertexts {
		ct := rlwe.NewCiphertext(prm, degree, level)
		for _, p := range ct.Value {
			for l, coeffs := range p.Coeffs[:level+1] {
				q := moduli[l]
				for k := range coeffs {
					v := binary.LittleEndian.Uint64(data)
					if v >= q {
						return nil, fmt.Errorf("%w: ciphertext %d has a coefficient not reduced modulo its prime", ErrFormat, i)
					}
					coeffs[k] = v
					data = data[8:]
				}
			}
		}
		ct.IsNTT = true
		ct.IsBatched = true
		ct.Scale = scale
		ct.LogDimensions = prm.LogMaxDimensions()
		out.Ciphertexts[i] = ct
	}
	return out, nil
}

func parseScale(text []byte, wantLog2 float64) (rlwe.Scale, error) {
	f := new(big.Float).SetPrec(256)
	if err := f.UnmarshalText(text); err != nil || f.Sign() <= 0 || f.IsInf() {
		return rlwe.Scale{}, fmt.Errorf("%w: invalid scale", ErrFormat)
	}
	if got := log2Float(f); math.Abs(got-wantLog2) > 1e-9 {
		return rlwe.Scale{}, fmt.Errorf("%w: scale 2^%.6f, expected 2^%.6f", ErrMismatch, got, wantLog2)
	}
	return rlwe.NewScale(f), nil
}
