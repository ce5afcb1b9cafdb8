package cbor

import (
	"errors"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
)

// record has the field types the project's documents use.
type record struct {
	Name    string      `codec:"name"`
	Values  []float64   `codec:"values"`
	Ints    []int32     `codec:"ints"`
	Rows    [][]float64 `codec:"rows"`
	Bytes   []byte      `codec:"bytes"`
	Fixed   [4]byte     `codec:"fixed"`
	Flag    bool        `codec:"flag"`
	Nested  *record     `codec:"nested,omitempty"`
	Records []record    `codec:"records"`
}

// FuzzCBOR decodes CBOR into a typed record and into a generic value: never a
// panic or an unclassified error, never more than the scan's limits allow, and an
// accepted record re-encodes to a document that decodes to the same encoding.
func FuzzCBOR(f *testing.F) {
	full := record{Name: "x", Values: []float64{1.5, -2}, Ints: []int32{1, -1}, Rows: [][]float64{{1}, {2, 3}},
		Bytes: []byte{1, 2}, Fixed: [4]byte{9}, Flag: true, Nested: &record{Name: "y"}, Records: []record{{Name: "z"}}}
	data, err := Marshal(full)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{0x9a, 0x30, 0x30, 0x30, 0x30, 0x9a, 0x30, 0x30, 0x30, 0x30}) // hole 7 of issue 12
	f.Fuzz(func(t *testing.T, data []byte) {
		var anything any
		if err := Unmarshal(data, &anything); err != nil && errors.Is(err, errs.ErrInternal) {
			t.Fatalf("an internal error: %v", err)
		}
		var r record
		if err := Unmarshal(data, &r); err != nil {
			if errors.Is(err, errs.ErrInternal) {
				t.Fatalf("an internal error: %v", err)
			}
			return
		}
		again, err := Marshal(r)
		if err != nil {
			t.Fatalf("an accepted record does not encode: %v", err)
		}
		var back record
		if err := Unmarshal(again, &back); err != nil {
			t.Fatalf("a re-encoded record does not decode: %v", err)
		}
		if twice, _ := Marshal(back); string(twice) != string(again) {
			t.Fatal("encoding is not stable")
		}
	})
}
