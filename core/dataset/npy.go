package dataset

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// NumPy's .npy format (numpy.lib.format): the magic "\x93NUMPY", a version byte pair,
// the header's length (2 bytes in version 1, 4 in versions 2 and 3), and the header:
// a Python dict literal with 'descr' (the data type, such as '<f8'), 'fortran_order'
// and 'shape'. The data follow, in C or Fortran order.

const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header of an .npy file.
const maxNPYHeader = 1 << 16

// arrayHeader describes an array stored in a file (.npy or IDX).
type arrayHeader struct {
	order   binary.ByteOrder
	kind    byte // 'f', 'i', 'u' or 'b'
	size    int  // bytes per value
	fortran bool
	shape   []int
}

// count returns the number of values the shape holds, or -1 if it overflows.
func (h *arrayHeader) count() int64 {
	n := int64(1)
	for _, d := range h.shape {
		if d < 0 || (d > 0 && n > math.MaxInt64/int64(d)/8) {
			return -1
		}
		n *= int64(d)
	}
	return n
}

// readNPYHeader reads the front of an .npy file up to its data.
func readNPYHeader(r io.Reader, file string) (*arrayHeader, error) {
	malformed := func(format string, args ...any) error {
		return errs.New(errs.ErrMalformed, "dataset: %s: not a NumPy .npy file: "+format, append([]any{file}, args...)...)
	}
	pre := make([]byte, len(npyMagic)+2)
	if _, err := io.ReadFull(r, pre); err != nil || string(pre[:len(npyMagic)]) != npyMagic {
		return nil, malformed("no .npy magic")
	}
	var headerLen int
	switch major := pre[len(npyMagic)]; major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, malformed("truncated header")
		}
		headerLen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, malformed("truncated header")
		}
		headerLen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, malformed("format version %d", major)
	}
	if headerLen > maxNPYHeader {
		return nil, malformed("a header of %d bytes", headerLen)
	}
	text := make([]byte, headerLen)
	if _, err := io.ReadFull(r, text); err != nil {
		return nil, malformed("truncated header")
	}
	fields, err := parseNPYDict(string(text))
	if err != nil {
		return nil, malformed("%v", err)
	}
	h := &arrayHeader{fortran: fields["fortran_order"] == "True"}
	if f := fields["fortran_order"]; f != "True" && f != "False" {
		return nil, malformed("fortran_order is %q", f)
	}
	if h.shape, err = parseNPYShape(fields["shape"]); err != nil {
		return nil, malformed("%v", err)
	}
	if err := h.setType(fields["descr"], file); err != nil {
		return nil, err
	}
	return h, nil
}

// setType decodes a quoted NumPy type string such as '<f8' or '|u1'.
func (h *arrayHeader) setType(quoted, file string) error {
	unsupported := errs.New(errs.ErrUnsupported, "dataset: %s: data type %s is not a number type this package reads: want "+
		"float (f2, f4, f8), signed or unsigned integers (i1 to i8, u1 to u8) or bool", file, quoted)
	descr, ok := unquote(quoted)
	if !ok || len(descr) < 3 {
		return unsupported
	}
	switch descr[0] {
	case '<', '|', '=': // '=' is the writer's native order: little-endian on the platforms the library supports
		h.order = binary.LittleEndian
	case '>':
		h.order = binary.BigEndian
	default:
		return unsupported
	}
	h.kind = descr[1]
	size, err := strconv.Atoi(descr[2:])
	if err != nil {
		return unsupported
	}
	h.size = size
	switch {
	case h.kind == 'f' && (size == 2 || size == 4 || size == 8):
	case (h.kind == 'i' || h.kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8):
	case h.kind == 'b' && size == 1:
	default:
		return unsupported
	}
	return nil
}

// parseNPYDict splits the header's dict literal into its three keys' raw values.
func parseNPYDict(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, errs.New(errs.ErrMalformed, "the header is not a dict")
	}
	s = s[1 : len(s)-1]
	out := map[string]string{}
	for _, key := range []string{"descr", "fortran_order", "shape"} {
		i := strings.Index(s, "'"+key+"'")
		if i < 0 {
			return nil, errs.New(errs.ErrMalformed, "the header has no %q", key)
		}
		rest := strings.TrimSpace(s[i+len(key)+2:])
		rest, ok := strings.CutPrefix(rest, ":")
		if !ok {
			return nil, errs.New(errs.ErrMalformed, "the header's %q has no value", key)
		}
		rest = strings.TrimSpace(rest)
		end := strings.IndexByte(rest, ',')
		if strings.HasPrefix(rest, "(") {
			end = strings.IndexByte(rest, ')') + 1
		}
		if end <= 0 {
			end = len(rest)
		}
		out[key] = strings.TrimSpace(rest[:end])
	}
	return out, nil
}

// parseNPYShape parses a shape tuple such as "(10, 784)", "(5,)" or "()".
func parseNPYShape(s string) ([]int, error) {
	inner, ok := strings.CutPrefix(s, "(")
	if inner, ok = strings.CutSuffix(inner, ")"); !ok {
		return nil, errs.New(errs.ErrMalformed, "shape %q is not a tuple", s)
	}
	var dims []int
	for _, f := range strings.Split(inner, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
		if err != nil || d < 0 {
			return nil, errs.New(errs.ErrMalformed, "shape %q", s)
		}
		dims = append(dims, d)
	}
	return dims, nil
}

func unquote(s string) (string, bool) {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1], true
	}
	return "", false
}

// readValues reads the values of an array, in C order: all h.count() of them, and
// nothing may follow; or, with limit > 0, those of the first limit rows at most.
func readValues(r io.Reader, h *arrayHeader, file string, limit int) ([]float64, error) {
	n := h.count()
	if n < 0 {
		return nil, errs.New(errs.ErrLimit, "dataset: %s: array of shape %s is too large", file, shapeText(h.shape))
	}
	perRow := int64(1)
	if len(h.shape) > 0 && h.shape[0] > 0 {
		perRow = n / int64(h.shape[0])
	}
	all := limit <= 0 || int64(limit) >= n/max(perRow, 1)
	if !all {
		n = int64(limit) * perRow
	}
	values := make([]float64, 0, min(n, 1<<16)) // n comes from the file: grow as the data arrive
	buf := make([]byte, 1<<16*h.size)
	for done := int64(0); done < n; {
		chunk := buf[:min(n-done, 1<<16)*int64(h.size)]
		if got, err := io.ReadFull(r, chunk); err != nil {
			at := done + int64(got/h.size)
			return nil, errs.New(errs.ErrMalformed, "dataset: %s: the data end in row %d (value %d of %d): the file is truncated",
				file, at/max(perRow, 1), at, n)
		}
		for i := 0; i < len(chunk); i += h.size {
			values = append(values, h.decode(chunk[i:i+h.size]))
		}
		done += int64(len(chunk) / h.size)
	}
	if !all {
		return values, nil
	}
	if extra, _ := io.Copy(io.Discard, io.LimitReader(r, 1)); extra > 0 {
		return nil, errs.New(errs.ErrMalformed, "dataset: %s: bytes after the %d values of shape %s", file, n, shapeText(h.shape))
	}
	if h.fortran && len(h.shape) > 1 {
		values = fromFortran(values, h.shape)
	}
	return values, nil
}

// decode converts one stored value.
func (h *arrayHeader) decode(b []byte) float64 {
	switch h.kind {
	case 'f':
		switch h.size {
		case 2:
			return halfToFloat(h.order.Uint16(b))
		case 4:
			return float64(math.Float32frombits(h.order.Uint32(b)))
		}
		return math.Float64frombits(h.order.Uint64(b))
	case 'i':
		switch h.size {
		case 1:
			return float64(int8(b[0]))
		case 2:
			return float64(int16(h.order.Uint16(b)))
		case 4:
			return float64(int32(h.order.Uint32(b)))
		}
		return float64(int64(h.order.Uint64(b)))
	case 'u':
		switch h.size {
		case 1:
			return float64(b[0])
		case 2:
			return float64(h.order.Uint16(b))
		case 4:
			return float64(h.order.Uint32(b))
		}
		return float64(h.order.Uint64(b))
	}
	if b[0] != 0 { // bool
		return 1
	}
	return 0
}

// halfToFloat converts an IEEE 754 half-precision value.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// fromFortran reorders values stored in Fortran order (the first index varies
// fastest) into C order.
func fromFortran(values []float64, shape []int) []float64 {
	out := make([]float64, len(values))
	idx := make([]int, len(shape))
	for c := range out { // c runs over C order; f is the same element's Fortran offset
		f, stride := 0, 1
		for d := range shape {
			f += idx[d] * stride
			stride *= shape[d]
		}
		out[c] = values[f]
		for d := len(shape) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// readNPYFile reads an array of shape (n, …record shape) into records.
func readNPYFile(path string, shape model.Shape) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "dataset: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	h, err := readNPYHeader(r, path)
	if err != nil {
		return nil, err
	}
	if len(h.shape) < 1 || !trailingShapeFits(h.shape[1:], shape) {
		return nil, recordShapeError(path, h.shape, shape)
	}
	values, err := readValues(r, h, path, 0)
	if err != nil {
		return nil, err
	}
	return split(values, h.shape[0], shape, path), nil
}

// split cuts n·shape.Size() values into records of the given shape from file.
func split(values []float64, n int, shape model.Shape, file string) *Set {
	size := shape.Size()
	set := &Set{Shape: shape, Records: make([][]float64, n), Sources: make([]Source, n)}
	for i := range n {
		set.Records[i] = values[i*size : (i+1)*size : (i+1)*size]
		set.Sources[i] = Source{File: file, Row: i}
	}
	return set
}

// ReadNPY reads an array from r (the bytes of an .npy file named name) and returns
// its shape and its values in C order.
func ReadNPY(r io.Reader, name string) ([]int, []float64, error) {
	h, err := readNPYHeader(r, name)
	if err != nil {
		return nil, nil, err
	}
	values, err := readValues(r, h, name, 0)
	if err != nil {
		return nil, nil, err
	}
	return h.shape, values, nil
}

// WriteNPY writes values, in C order, as an .npy array of the given shape: float64
// ('<f8'), or int64 ('<i8') if ints is set (the values must then be integers).
func WriteNPY(w io.Writer, shape []int, values []float64, ints bool) error {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(values) {
		return errs.New(errs.ErrInvalidArgument, "dataset: %d values for an array of shape %s", len(values), shapeText(shape))
	}
	descr := "<f8"
	if ints {
		descr = "<i8"
	}
	header := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText(shape) + ", }"
	// Pad with spaces so that the data start on a multiple of 64 bytes, ending in '\n'.
	total := len(npyMagic) + 4 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	out := make([]byte, 0, total+len(header)+8*len(values))
	out = append(append(out, npyMagic...), 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(header)))
	out = append(out, header...)
	for _, v := range values {
		bits := math.Float64bits(v)
		if ints {
			bits = uint64(int64(v))
		}
		out = binary.LittleEndian.AppendUint64(out, bits)
	}
	_, err := w.Write(out)
	return err
}
