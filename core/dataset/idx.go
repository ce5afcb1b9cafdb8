package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// IDX is the format of the MNIST files (yann.lecun.com/exdb/mnist): two zero bytes,
// a type byte, the number of dimensions, each dimension as a big-endian uint32, then
// the values, big-endian. Files compressed with gzip are read as they are.

// idxTypes maps an IDX type byte to the value type.
var idxTypes = map[byte]struct {
	kind byte
	size int
}{0x08: {'u', 1}, 0x09: {'i', 1}, 0x0B: {'i', 2}, 0x0C: {'i', 4}, 0x0D: {'f', 4}, 0x0E: {'f', 8}}

// idxFile is an open IDX file, positioned at its values.
type idxFile struct {
	f *os.File
	r io.Reader
	h *arrayHeader
}

// openIDX opens an IDX file, decompressing it if it is gzipped, and reads its header.
func openIDX(path string) (*idxFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "dataset: %w", err)
	}
	x := &idxFile{f: f}
	if x.h, err = x.readHeader(path); err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

func (x *idxFile) readHeader(path string) (*arrayHeader, error) {
	br := bufio.NewReaderSize(x.f, 1<<20)
	x.r = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, errs.New(errs.ErrMalformed, "dataset: %s: corrupt gzip data: %v", path, err)
		}
		x.r = bufio.NewReaderSize(gz, 1<<20)
	}
	var head [4]byte
	if _, err := io.ReadFull(x.r, head[:]); err != nil || head[0] != 0 || head[1] != 0 {
		return nil, errs.New(errs.ErrMalformed, "dataset: %s: not an IDX file (bad magic)", path)
	}
	t, ok := idxTypes[head[2]]
	if !ok {
		return nil, errs.New(errs.ErrUnsupported, "dataset: %s: IDX data type 0x%02x: want 0x08 to 0x0E", path, head[2])
	}
	if head[3] == 0 {
		return nil, errs.New(errs.ErrMalformed, "dataset: %s: an IDX array of no dimensions", path)
	}
	h := &arrayHeader{order: binary.BigEndian, kind: t.kind, size: t.size, shape: make([]int, head[3])}
	for i := range h.shape {
		var d [4]byte
		if _, err := io.ReadFull(x.r, d[:]); err != nil {
			return nil, errs.New(errs.ErrMalformed, "dataset: %s: truncated IDX header", path)
		}
		h.shape[i] = int(binary.BigEndian.Uint32(d[:]))
	}
	return h, nil
}

// readIDXFile reads the records of an IDX file of shape (n, …record shape). Unsigned
// bytes are pixels: they become value/255.
func readIDXFile(path string, shape model.Shape) (*Set, error) {
	return readIDXRecords(path, shape, 0)
}

// readIDXRecords reads the first limit records of an IDX file (all if limit ≤ 0).
func readIDXRecords(path string, shape model.Shape, limit int) (*Set, error) {
	x, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer x.f.Close()
	if len(x.h.shape) < 2 || !trailingShapeFits(x.h.shape[1:], shape) {
		return nil, recordShapeError(path, x.h.shape, shape)
	}
	values, err := readValues(x.r, x.h, path, limit)
	if err != nil {
		return nil, err
	}
	if x.h.kind == 'u' && x.h.size == 1 {
		for i := range values {
			values[i] /= 255
		}
	}
	return split(values, len(values)/shape.Size(), shape, path), nil
}

// readIDXLabels reads a one-dimensional IDX file of integers.
func readIDXLabels(path string, limit int) ([]int, error) {
	x, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer x.f.Close()
	if len(x.h.shape) != 1 || x.h.kind == 'f' {
		return nil, errs.New(errs.ErrMismatch, "dataset: %s: labels are a one-dimensional array of integers, this is an array of shape %s", path, shapeText(x.h.shape))
	}
	values, err := readValues(x.r, x.h, path, limit)
	if err != nil {
		return nil, err
	}
	return toLabels(values, path)
}
