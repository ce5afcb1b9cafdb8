package single

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// BenchmarkSingleImage measures the server's evaluation of one encrypted MNIST image
// with the shipped network at the 128-bit preset, and reports the upload per image
// (a sealed, seeded request), the download, the sealed evaluation keys (relinearization
// key and Galois keys) and the client's encryption and decryption times.
func BenchmarkSingleImage(b *testing.B) {
	f := setup(b, params.N13S)
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		b.Fatal(err)
	}
	seed := make([]byte, wire.SeedSize)
	in, err := f.client.EncryptImages(set.Records[:1], seed)
	if err != nil {
		b.Fatal(err)
	}
	man := f.plan.Manifest()
	upload, err := wire.EncodeCiphertexts(wire.KindEncryptedBatch, &man, f.plan.Parameters(), &wire.Ciphertexts{Images: 1, Ciphertexts: in, Seed: seed})
	if err != nil {
		b.Fatal(err)
	}
	sealed := &wire.EvaluationKeys{Params: man.ParamsFingerprint, Relinearization: f.evk.RelinearizationKey}
	for _, gk := range f.evk.GaloisKeys {
		sealed.Galois = append(sealed.Galois, gk)
	}
	keys, err := wire.EncodeEvaluationKeys(sealed, &man, f.plan.Parameters())
	if err != nil {
		b.Fatal(err)
	}
	out, err := f.plan.Evaluate(context.Background(), in, f.evk, nil)
	if err != nil {
		b.Fatal(err)
	}
	// Client costs, averaged over a few runs.
	const reps = 5
	start := time.Now()
	for i := 0; i < reps; i++ {
		if _, err := f.client.Encrypt(set.Records[0]); err != nil {
			b.Fatal(err)
		}
	}
	encrypt := time.Since(start) / reps
	start = time.Now()
	for i := 0; i < reps; i++ {
		if _, err := f.client.Decrypt(out); err != nil {
			b.Fatal(err)
		}
	}
	decrypt := time.Since(start) / reps
	if err := f.plan.Prepare(f.evk); err != nil { // as a server does once
		b.Fatal(err)
	}
	var before, after syscall.Rusage
	b.ResetTimer()
	cpuErr := syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for i := 0; i < b.N; i++ {
		if _, err := f.plan.Evaluate(context.Background(), in, f.evk, nil); err != nil {
			b.Fatal(err)
		}
	}
	if cpuErr == nil && syscall.Getrusage(syscall.RUSAGE_SELF, &after) == nil {
		// CPU time, user and system, of every thread: wall time stretches with the
		// load of a shared machine, CPU time much less.
		cpu := after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()
		b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/image")
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
	b.ReportMetric(float64(len(upload)), "upload-B/image")
	b.ReportMetric(float64(out[0].BinarySize()), "download-B/image")
	b.ReportMetric(float64(len(keys)), "evk-B")
	b.ReportMetric(float64(len(f.evk.GaloisKeys)), "galois-keys")
	b.ReportMetric(float64(encrypt.Microseconds())/1000, "encrypt-ms/image")
	b.ReportMetric(float64(decrypt.Microseconds())/1000, "decrypt-ms/image")
}

// BenchmarkInterleaved measures one request of k interleaved MNIST images at the
// 128-bit preset, for k = 1, 2, 4, 8:
//
//	go test -run XXX -bench Interleaved -benchtime 10x ./core/packing/single
func BenchmarkInterleaved(b *testing.B) {
	for k := 1; k <= 8; k *= 2 {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			p, in, evk := preparedShipped(b, k)
			b.ResetTimer()
			for range b.N {
				if _, err := p.Evaluate(context.Background(), in, evk, nil); err != nil {
					b.Fatal(err)
				}
			}
			ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/request")
			b.ReportMetric(ms/float64(k), "ms/image")
			b.ReportMetric(float64(p.Ciphertexts()), "ciphertexts")
		})
	}
}

// BenchmarkConcurrent measures evaluations of one image each with the shipped network
// at the 128-bit preset, as a server runs them: from as many goroutines at once as
// there are processors, on one plan.
func BenchmarkConcurrent(b *testing.B) {
	p, in, evk := preparedShipped(b, 1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Evaluate(context.Background(), in, evk, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// preparedShipped compiles the shipped network at the 128-bit preset for k images per
// request and returns the plan, prepared for its keys, one request of the first k
// MNIST test images and the keys.
func preparedShipped(b *testing.B, k int) (*Plan, []*rlwe.Ciphertext, rlwe.EvaluationKeySet) {
	m, err := model.Load(shippedModel)
	if err != nil {
		b.Fatal(err)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, k)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(m, params.N13S, packing.Options{ImagesPerRequest: k})
	if err != nil {
		b.Fatal(err)
	}
	c, evk := newClient(b, p)
	in, err := c.EncryptImages(set.Records[:k], nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Prepare(evk); err != nil {
		b.Fatal(err)
	}
	return p, in, evk
}
