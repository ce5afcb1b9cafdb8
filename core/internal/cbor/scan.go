package cbor

import (
	"encoding/binary"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Limits of scan: a document within them decodes into Go values of a size bounded by
// a small multiple of its length, whatever its length fields say.
const (
	// maxDepth bounds the nesting of arrays, maps and tags.
	maxDepth = 32
	// maxContainers bounds the arrays and maps of one document: each becomes a Go
	// slice, map or struct, whose size the encoded bytes do not bound (an empty
	// map, one byte, may fill a large struct).
	maxContainers = 1 << 16
)

// scan checks that data is exactly one well-formed CBOR item (definite lengths only,
// as Marshal writes them) whose every length field fits in the bytes that remain
// (a string's bytes; an array's items, a map's keys and values take at least one
// byte each), nested at most maxDepth deep, with at most maxContainers arrays and
// maps. It allocates nothing: it runs before the decoder, so that no length field
// reserves memory that the input does not fill.
func scan(data []byte) error {
	s := scanner{data: data}
	if err := s.item(0); err != nil {
		return err
	}
	if s.pos != len(data) {
		return errs.New(errs.ErrMalformed, "cbor: %d trailing bytes after the document", len(data)-s.pos)
	}
	return nil
}

type scanner struct {
	data       []byte
	pos        int
	containers int
}

func (s *scanner) malformed(format string, args ...any) error {
	return errs.New(errs.ErrMalformed, "cbor: at byte %d: "+format, append([]any{s.pos}, args...)...)
}

// head reads an item's initial byte and argument.
func (s *scanner) head() (major byte, arg uint64, err error) {
	if s.pos >= len(s.data) {
		return 0, 0, s.malformed("truncated")
	}
	b := s.data[s.pos]
	s.pos++
	major, info := b>>5, b&0x1f
	switch {
	case info < 24:
		return major, uint64(info), nil
	case info <= 27:
		n := 1 << (info - 24)
		if len(s.data)-s.pos < n {
			return 0, 0, s.malformed("truncated")
		}
		var buf [8]byte
		copy(buf[8-n:], s.data[s.pos:s.pos+n])
		s.pos += n
		return major, binary.BigEndian.Uint64(buf[:]), nil
	case info == 31:
		return 0, 0, s.malformed("indefinite lengths are not accepted")
	}
	return 0, 0, s.malformed("reserved additional information %d", info)
}

// item checks one item at the given nesting depth.
func (s *scanner) item(depth int) error {
	if depth > maxDepth {
		return s.malformed("nested deeper than %d", maxDepth)
	}
	major, arg, err := s.head()
	if err != nil {
		return err
	}
	remaining := uint64(len(s.data) - s.pos)
	switch major {
	case 0, 1, 7: // integers; simple values and floats (their bytes were read by head)
		return nil
	case 2, 3: // byte and text strings
		if arg > remaining {
			return s.malformed("a string of %d bytes, %d remain", arg, remaining)
		}
		s.pos += int(arg)
		return nil
	case 6: // a tag: one item follows
		return s.item(depth + 1)
	}
	items := arg // major 4: an array
	if major == 5 {
		if arg > remaining/2 {
			return s.malformed("a map of %d entries, %d bytes remain", arg, remaining)
		}
		items = 2 * arg
	}
	if items > remaining {
		return s.malformed("an array of %d items, %d bytes remain", arg, remaining)
	}
	if s.containers++; s.containers > maxContainers {
		return errs.New(errs.ErrLimit, "cbor: more than %d arrays and maps", maxContainers)
	}
	for range items {
		if err := s.item(depth + 1); err != nil {
			return err
		}
	}
	return nil
}
