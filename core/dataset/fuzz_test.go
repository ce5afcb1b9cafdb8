package dataset

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

// The readers take files from outside: whatever the bytes, an error or records of the
// shape asked for, never a panic.

func FuzzReadNPY(f *testing.F) {
	for _, name := range []string{"vec_f8.npy", "vec_fortran.npy", "vec_v2.npy", "img_hw.npy", "complex.npy"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		shape, values, err := ReadNPY(bytes.NewReader(data), "fuzz.npy")
		if err != nil {
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if n != len(values) {
			t.Fatalf("shape %v with %d values", shape, len(values))
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("a,b,label,c\n1,2,0,3\n4,5,1,6\n"))
	f.Add([]byte("1,2,3\n4,\"5\",6\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		shape := model.Shape{C: 3, H: 1, W: 1}
		for _, opts := range []Options{{Shape: shape}, {Shape: shape, LabelColumn: "label"}, {Shape: shape, Columns: []string{"c", "a", "b"}}} {
			set, err := readCSV(bytes.NewReader(data), "fuzz.csv", opts)
			if err != nil {
				continue
			}
			for _, r := range set.Records {
				if len(r) != 3 {
					t.Fatalf("a record of %d values", len(r))
				}
			}
			if set.Labels != nil && len(set.Labels) != set.Len() {
				t.Fatalf("%d labels for %d records", len(set.Labels), set.Len())
			}
		}
	})
}

func FuzzPNGRows(f *testing.F) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 5, 4))); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		if rows, ok := pngRowsIntact(data); ok && rows < 0 {
			t.Fatalf("%d rows", rows)
		}
	})
}
