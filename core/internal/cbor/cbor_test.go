package cbor

import (
	"bytes"
	"testing"
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
