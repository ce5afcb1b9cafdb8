package wire

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// TestSeededBatchIsTheCiphertextsBytes writes the same seeded ciphertexts once as
// Ciphertexts and once as a SeededBatch whose c0 components come one at a time, on
// several goroutines and in chunks of several sizes: the bytes must be the same.
func TestSeededBatchIsTheCiphertextsBytes(t *testing.T) {
	prm, err := params.InsecureN11.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	const count, level = 7, 2
	seed := bytes.Repeat([]byte{9}, SeedSize)
	cts := &Ciphertexts{Images: 5, Request: Request{ID: [16]byte{1}, Tag: [16]byte{2}}, Seed: seed}
	prng, err := sampling.NewKeyedPRNG([]byte("wire"))
	if err != nil {
		t.Fatal(err)
	}
	sampler := ring.NewUniformSampler(prng, prm.RingQ().AtLevel(level))
	for range count {
		ct := rlwe.NewCiphertext(prm, 1, level)
		sampler.Read(ct.Value[0])
		ct.Scale = rlwe.NewScale(math.Ldexp(1, 30))
		cts.Ciphertexts = append(cts.Ciphertexts, ct)
	}
	var want bytes.Buffer
	if err := cts.WritePayload(&want, prm); err != nil {
		t.Fatal(err)
	}
	b := &SeededBatch{Images: cts.Images, Request: cts.Request, Seed: seed, Count: count, Level: level, Scale: cts.Ciphertexts[0].Scale}
	head, err := payloadHead(b.Images, count, 1, level, b.Scale, b.Request, seed)
	if err != nil {
		t.Fatal(err)
	}
	size := polyBytes(prm.N(), prm.Q(), level)
	for _, procs := range []int{1, 3} {
		for _, chunk := range []int{1, 2 * size, 3*size + 1, chunkBytes} {
			got := bytes.NewBuffer(bytes.Clone(head))
			err := writePolys(got, prm, level, count, 1, procs, chunk, func(worker, k int) ([]ring.Poly, error) {
				if worker < 0 || worker >= procs {
					t.Errorf("worker %d of %d", worker, procs)
				}
				return []ring.Poly{cts.Ciphertexts[k].Value[0]}, nil
			})
			if err != nil || !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%d goroutines, chunks of %d bytes: the seeded batch's payload differs (%v)", procs, chunk, err)
			}
		}
	}
	boom := errors.New("boom")
	if err := writePolys(new(bytes.Buffer), prm, level, count, 1, 2, chunkBytes, func(_, k int) ([]ring.Poly, error) {
		if k == 4 {
			return nil, boom
		}
		return []ring.Poly{cts.Ciphertexts[k].Value[0]}, nil
	}); !errors.Is(err, boom) {
		t.Fatalf("an error of the source gave %v", err)
	}
	if err := writePolys(new(bytes.Buffer), prm, level, count, 1, 2, chunkBytes, func(_, k int) ([]ring.Poly, error) {
		return []ring.Poly{{Coeffs: cts.Ciphertexts[k].Value[0].Coeffs[:level]}}, nil
	}); err == nil {
		t.Fatal("a polynomial below the level was packed")
	}
	if _, err := (&SeededBatch{Count: count, Level: level, Seed: seed[:3]}).payloadSize(prm); err == nil {
		t.Fatal("a short seed was accepted")
	}
}

// TestReadPolysInChunks reads the ciphertexts of a payload from memory and from a
// stream, on several goroutines and in chunks of several sizes: each must reach the
// decoder whole and exactly once; a truncated stream or a failing decoder is an error.
func TestReadPolysInChunks(t *testing.T) {
	const count, size = 11, 40
	data := make([]byte, count*size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	sources := map[string]func() func(int) ([]byte, error){
		"memory": func() func(int) ([]byte, error) { return sliceChunks(data) },
		"stream": func() func(int) ([]byte, error) { return readerChunks(bytes.NewReader(data)) },
	}
	for name, source := range sources {
		for _, procs := range []int{1, 3} {
			for _, chunk := range []int{1, 2 * size, 3*size + 1, chunkBytes} {
				got := make([][]byte, count)
				err := readPolys(source(), size, count, procs, chunk, func(k int, src []byte) error {
					if got[k] != nil {
						t.Errorf("ciphertext %d decoded twice", k)
					}
					got[k] = bytes.Clone(src)
					return nil
				})
				if err != nil {
					t.Fatalf("%s, %d goroutines, chunks of %d bytes: %v", name, procs, chunk, err)
				}
				for k := range got {
					if !bytes.Equal(got[k], data[k*size:(k+1)*size]) {
						t.Fatalf("%s, %d goroutines, chunks of %d bytes: ciphertext %d differs", name, procs, chunk, k)
					}
				}
			}
		}
	}
	boom := errors.New("boom")
	for _, chunk := range []int{1, 3 * size, chunkBytes} {
		if err := readPolys(readerChunks(bytes.NewReader(data)), size, count, 2, chunk, func(k int, _ []byte) error {
			if k == 4 {
				return boom
			}
			return nil
		}); !errors.Is(err, boom) {
			t.Fatalf("chunks of %d bytes: an error of the decoder gave %v", chunk, err)
		}
		cut := bytes.NewReader(data[:len(data)-1])
		if err := readPolys(readerChunks(cut), size, count, 2, chunk, func(int, []byte) error { return nil }); !errors.Is(err, errs.ErrMalformed) {
			t.Fatalf("chunks of %d bytes: a truncated stream gave %v", chunk, err)
		}
	}
}
