package client_test

import (
	"bytes"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/wire"
)

// BenchmarkWriteUpload measures what `cryptonets bench` reports as encryption: one
// full request of the shipped CryptoNets model (N13QP215, 784 ciphertexts) encrypted
// and sealed into a buffer of the upload's size, on every core.
func BenchmarkWriteUpload(b *testing.B) {
	m, err := model.Load("../../models/mnist/mnist_cryptonets.cnm")
	if err != nil {
		b.Fatal(err)
	}
	p, err := compile.Compile(m, compile.Options{Packing: "batch", Params: "N13QP215"})
	if err != nil {
		b.Fatal(err)
	}
	man := p.Manifest()
	c, err := client.New(&man)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	images := make([][]float64, man.ImagesPerBatch)
	for i := range images {
		images[i] = make([]float64, man.Input.Size())
		for k := range images[i] {
			images[i][k] = rng.Float64()
		}
	}
	size, err := wire.UploadSize(&man, 1)
	if err != nil {
		b.Fatal(err)
	}
	upload := bytes.NewBuffer(make([]byte, 0, size))
	start := cpuSeconds()
	for b.Loop() {
		upload.Reset()
		if _, _, err := c.WriteUpload(upload, images, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(images)*b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric((cpuSeconds()-start)/float64(b.N), "cpu-s/op")
}

// cpuSeconds returns the CPU time the process has used, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
