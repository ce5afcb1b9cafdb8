package client_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/wire"
)

func tinyManifest(t *testing.T) manifest.Manifest {
	t.Helper()
	m := &model.Model{Name: "tiny", Input: model.Shape{C: 3, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Dense{In: 3, Out: 2, Weights: []float64{1, -1, 0.5, 0.2, 0.3, -0.4}, Bias: []float64{0.1, 0}},
			model.Square{},
			&model.Dense{In: 2, Out: 2, Weights: []float64{1, 0, 0, 1}, Bias: []float64{0, 0}},
		}}
	p, err := batch.Compile(m, params.InsecureN11, packing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Manifest()
}

func TestEncryptRejectsBadImages(t *testing.T) {
	man := tinyManifest(t)
	c, err := client.New(&man, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tooMany := make([][]float64, man.ImagesPerBatch+1)
	for i := range tooMany {
		tooMany[i] = []float64{0, 0, 0}
	}
	cases := map[string][][]float64{
		"no images":       nil,
		"wrong size":      {{0.5, 0.5}},
		"above the range": {{0.5, 1.5, 0}},
		"below the range": {{-0.1, 0, 0}},
		"NaN":             {{math.NaN(), 0, 0}},
		"infinity":        {{math.Inf(1), 0, 0}},
		"more than slots": tooMany,
	}
	for name, imgs := range cases {
		if _, err := c.Encrypt(imgs, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := c.Decrypt(wire.Request{}, nil); err == nil {
		t.Error("nil result accepted")
	}
	if _, err := client.New(nil); err == nil {
		t.Error("nil manifest accepted")
	}
}

// TestManifestsThePackingRejects are refused before any key is made: a packing
// nobody knows, a batch manifest that claims a layout or Galois keys, or a
// relinearization key with parameters that have no special prime.
func TestManifestsThePackingRejects(t *testing.T) {
	tamper := map[string]func(*manifest.Manifest){
		"unknown packing":  func(m *manifest.Manifest) { m.Packing = "diagonal" },
		"batch with keys":  func(m *manifest.Manifest) { m.Relinearize = true },
		"batch rotations":  func(m *manifest.Manifest) { m.GaloisElements, m.GaloisLevels = []uint64{5}, []int{0} },
		"batch layout":     func(m *manifest.Manifest) { m.Layout = []byte{1} },
		"ciphertext count": func(m *manifest.Manifest) { m.InputCiphertexts++ },
	}
	for name, f := range tamper {
		man := tinyManifest(t)
		f(&man)
		if _, err := client.New(&man, client.AllowInsecure()); err == nil {
			t.Errorf("%s: accepted", name)
		} else if c := errs.ClassOf(err); c != errs.ErrInvalidArgument && c != errs.ErrMalformed {
			t.Errorf("%s: class %v (%v)", name, c, err)
		}
	}
}

// TestEncryptAllChecksEveryRecordFirst: a bad record anywhere is reported by its name
// before anything is encrypted, and any count splits into requests.
func TestEncryptAllChecksEveryRecordFirst(t *testing.T) {
	man := tinyManifest(t)
	c, err := client.New(&man, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	records := make([][]float64, man.ImagesPerBatch+3)
	for i := range records {
		records[i] = []float64{0.1, 0.2, 0.3}
	}
	records[len(records)-1] = []float64{0.1, 2, 0.3}
	encrypted := 0
	progress := func(string, int, int) { encrypted++ }
	name := func(i int) string { return fmt.Sprintf("row %d of data.csv", i) }
	_, err = c.EncryptAll(records, name, progress)
	want := fmt.Sprintf("row %d of data.csv: value 1 is 2", len(records)-1)
	if !errors.Is(err, errs.ErrInvalidArgument) || !strings.Contains(err.Error(), want) || encrypted != 0 {
		t.Fatalf("%v (after %d progress reports), want %q before any encryption", err, encrypted, want)
	}
	records[len(records)-1][1] = 0.2
	reqs, err := c.EncryptAll(records, name, nil)
	if err != nil || len(reqs) != 2 || reqs[0].Images != man.ImagesPerBatch || reqs[1].Images != 3 || c.Requests(len(records)) != 2 {
		t.Fatalf("%d requests (%v)", len(reqs), err)
	}
	if _, err := c.EncryptAll(nil, nil, nil); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("no records: %v", err)
	}
}
