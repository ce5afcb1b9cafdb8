package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

func TestSizesFromTheManifest(t *testing.T) {
	f := newFixture(t, params.InsecureN11, 6)
	if size, err := wire.EncryptedBatchSize(&f.manifest); err != nil || size != int64(len(f.batch)) {
		t.Errorf("EncryptedBatchSize = %d, %v; the sealed batch is %d bytes", size, err, len(f.batch))
	}
	if size, err := wire.MaxEncryptedResultSize(&f.manifest); err != nil || size < int64(len(f.result)) || size > int64(len(f.result))+1024 {
		t.Errorf("MaxEncryptedResultSize = %d, %v; the sealed result is %d bytes", size, err, len(f.result))
	}
	var upload bytes.Buffer
	records := make([][]float64, 3*f.manifest.ImagesPerBatch-1)
	for i := range records {
		records[i] = make([]float64, f.manifest.Input.Size())
	}
	if _, _, err := f.client.WriteUpload(&upload, records, nil, nil); err != nil {
		t.Fatal(err)
	}
	if size, err := wire.UploadSize(&f.manifest, 3); err != nil || size != int64(upload.Len()) {
		t.Errorf("UploadSize(3) = %d, %v; the upload of 3 requests is %d bytes", size, err, upload.Len())
	}
	if size, err := wire.UploadSize(&f.manifest, 1); err != nil || size != int64(len(f.batch)) {
		t.Errorf("UploadSize(1) = %d, %v; one request is %d bytes", size, err, len(f.batch))
	}
	keys, err := f.client.EvaluationKeysBytes()
	if err != nil {
		t.Fatal(err)
	}
	if size, err := wire.EvaluationKeysSize(&f.manifest, manifestParams(t, &f.manifest)); err != nil || size != int64(len(keys)) {
		t.Errorf("EvaluationKeysSize = %d, %v; the sealed keys are %d bytes", size, err, len(keys))
	}
}

func TestEvaluationKeysSizesAndHead(t *testing.T) {
	f := newKeysFixture(t)
	size, err := wire.EvaluationKeysSize(&f.manifest, manifestParams(t, &f.manifest))
	if err != nil || size != int64(len(f.sealed)) {
		t.Fatalf("EvaluationKeysSize = %d, %v; the sealed keys are %d bytes", size, err, len(f.sealed))
	}
	var words int64
	for _, g := range append(f.keys.Galois, nil) {
		gc := &f.keys.Relinearization.GadgetCiphertext
		if g != nil {
			gc = &g.GadgetCiphertext
		}
		for _, row := range gc.Value {
			for _, vec := range row {
				for _, p := range vec {
					words += int64(p.Q.N() * (p.Q.Level() + 1 + p.P.Level() + 1))
				}
			}
		}
	}
	if mem, err := wire.EvaluationKeysMemory(&f.manifest); err != nil || mem != 8*words {
		t.Errorf("EvaluationKeysMemory = %d, %v; the keys hold %d bytes of coefficients", mem, err, 8*words)
	}

	r := bytes.NewReader(f.sealed)
	head, m, got, err := wire.ReadEvaluationKeysHead(r)
	if err != nil {
		t.Fatal(err)
	}
	if got != size || !bytes.Equal(head, f.sealed[:len(head)]) || m.Fingerprint() != f.manifest.Fingerprint() {
		t.Errorf("ReadEvaluationKeysHead: size %d (want %d), head or manifest differ", got, size)
	}
	if int64(len(head))+int64(r.Len()) != size {
		t.Errorf("ReadEvaluationKeysHead read %d bytes and left %d of %d", len(head), r.Len(), size)
	}

	bad := map[string]struct {
		data  []byte
		class error
	}{
		"truncated envelope": {f.sealed[:20], errs.ErrMalformed},
		"truncated manifest": {f.sealed[:wire.HeaderSize+10], errs.ErrMalformed},
		"another kind":       {withKind(f.sealed, wire.KindEncryptedBatch), errs.ErrMismatch},
		"wrong length":       {withPayloadLen(f.sealed, uint64(len(f.sealed))), errs.ErrMalformed},
	}
	for name, b := range bad {
		if _, _, _, err := wire.ReadEvaluationKeysHead(bytes.NewReader(b.data)); !errors.Is(err, b.class) {
			t.Errorf("%s: got %v, want %v", name, err, b.class)
		}
	}
}

func withKind(data []byte, k wire.Kind) []byte {
	out := bytes.Clone(data)
	out[6], out[7] = byte(k), byte(k>>8)
	return out
}

func withPayloadLen(data []byte, n uint64) []byte {
	out := bytes.Clone(data)
	for i := range 8 {
		out[56+i] = byte(n >> (8 * i))
	}
	return out
}

// manifestParams returns the CKKS parameters manifest m names.
func manifestParams(t *testing.T, m *manifest.Manifest) hefloat.Parameters {
	t.Helper()
	prm, err := m.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	return prm
}
