package cbor

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
)

type doc struct {
	Name   string    `codec:"name"`
	Values []float64 `codec:"values"`
}

func TestRoundTripIsExact(t *testing.T) {
	in := doc{Name: "x", Values: []float64{1.5, -2, 3e-300}}
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out doc
	if err := Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	again, _ := Marshal(out)
	if !bytes.Equal(data, again) || out.Name != in.Name || len(out.Values) != 3 || out.Values[2] != 3e-300 {
		t.Fatalf("round trip changed the document: %+v", out)
	}
}

func TestHostileInputIsAnError(t *testing.T) {
	good, _ := Marshal(doc{Name: "x", Values: []float64{1}})
	cases := map[string][]byte{
		"trailing bytes":  append(bytes.Clone(good), 0),
		"truncated":       good[:len(good)-3],
		"unknown field":   mustMarshal(t, map[string]int{"other": 1}),
		"inflated length": {0xa1, 0x66, 'v', 'a', 'l', 'u', 'e', 's', 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"deep nesting":    bytes.Repeat([]byte{0x81}, 10000),
		"empty":           nil,
	}
	for name, data := range cases {
		var out doc
		if err := Unmarshal(data, &out); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLengthFieldsAllocateNothing is hole 7 of issue 12: ten bytes declaring two
// nested arrays of 0x30303030 items took 64 MiB in the decoder. The scan rejects any
// length the input does not fill before the decoder runs.
func TestLengthFieldsAllocateNothing(t *testing.T) {
	cases := map[string][]byte{
		"nested arrays":    {0x9a, 0x30, 0x30, 0x30, 0x30, 0x9a, 0x30, 0x30, 0x30, 0x30},
		"huge map":         {0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0},
		"huge byte string": {0x5a, 0x7f, 0xff, 0xff, 0xff, 0},
		"huge text":        {0x7b, 0, 0, 1, 0, 0, 0, 0, 0, 'x'},
		"indefinite":       {0x9f, 0x01, 0xff},
		"reserved info":    {0x1c},
	}
	for name, data := range cases {
		var v any
		allocs := testing.AllocsPerRun(5, func() {
			if err := Unmarshal(data, &v); err == nil || !errors.Is(err, errs.ErrMalformed) {
				t.Errorf("%s: %v, want a malformed-input error", name, err)
			}
		})
		if allocs > 20 {
			t.Errorf("%s: %.0f allocations before the error", name, allocs)
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.TotalAlloc
	var v []doc
	if err := Unmarshal(cases["nested arrays"], &v); err == nil {
		t.Fatal("accepted")
	}
	runtime.ReadMemStats(&m)
	if grew := m.TotalAlloc - before; grew > 1<<16 {
		t.Fatalf("decoding 10 bytes allocated %d bytes", grew)
	}
}

func TestContainerCountIsBounded(t *testing.T) {
	// 70,000 empty maps in an array: each would become a struct.
	data := append([]byte{0x9a, 0, 1, 0x11, 0x70}, bytes.Repeat([]byte{0xa0}, 70000)...)
	var v []doc
	if err := Unmarshal(data, &v); !errors.Is(err, errs.ErrLimit) {
		t.Fatalf("%v, want a limit error", err)
	}
}
