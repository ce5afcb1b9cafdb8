package single

import (
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/params"
)

// BenchmarkSingleImage measures the server's evaluation of one encrypted MNIST image
// with the shipped network at the 128-bit preset, and reports the upload per image
// (marshalled input ciphertexts), the download, the evaluation key size
// (relinearization key and Galois keys) and the client's encryption and decryption
// times.
func BenchmarkSingleImage(b *testing.B) {
	f := setup(b, params.N13S)
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	in, err := f.client.Encrypt(set.Images[0])
	if err != nil {
		b.Fatal(err)
	}
	upload := 0
	for _, ct := range in {
		data, err := ct.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		upload += len(data)
	}
	keys := f.evk.RelinearizationKey.BinarySize()
	for _, gk := range f.evk.GaloisKeys {
		keys += gk.BinarySize()
	}
	out, err := f.plan.Evaluate(in, f.evk)
	if err != nil {
		b.Fatal(err)
	}
	// Client costs, averaged over a few runs.
	const reps = 5
	start := time.Now()
	for i := 0; i < reps; i++ {
		if _, err := f.client.Encrypt(set.Images[0]); err != nil {
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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.plan.Evaluate(in, f.evk); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
	b.ReportMetric(float64(upload), "upload-B/image")
	b.ReportMetric(float64(out[0].BinarySize()), "download-B/image")
	b.ReportMetric(float64(keys), "evk-B")
	b.ReportMetric(float64(len(f.evk.GaloisKeys)), "galois-keys")
	b.ReportMetric(float64(encrypt.Microseconds())/1000, "encrypt-ms/image")
	b.ReportMetric(float64(decrypt.Microseconds())/1000, "decrypt-ms/image")
}
