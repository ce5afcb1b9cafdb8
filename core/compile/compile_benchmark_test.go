package compile_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// BenchmarkFullBatch measures one full batch (8192 real MNIST test images) of the
// shipped model at the default 128-bit parameters, through the wire format:
//
//	go test ./core/compile -run XXX -bench FullBatch -benchtime 1x
func BenchmarkFullBatch(b *testing.B) {
	m, err := model.Load(shippedModel)
	if err != nil {
		b.Fatal(err)
	}
	p, err := compile.Compile(m, compile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	man := p.Manifest()
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		b.Fatal(err)
	}
	images := set.Records[:man.ImagesPerBatch]
	c, err := client.New(&man)
	if err != nil {
		b.Fatal(err)
	}
	evk, _ := c.EvaluationKeysBytes()
	keys, _ := c.EvaluationKeys()
	srv, err := server.New(p, keys)
	if err != nil {
		b.Fatal(err)
	}
	var upload, download []byte
	var req wire.Request
	b.Run("encrypt", func(b *testing.B) {
		for range b.N {
			enc, err := c.Encrypt(images, nil)
			if err != nil {
				b.Fatal(err)
			}
			req = enc.Request
			if upload, err = wire.EncodeCiphertexts(wire.KindEncryptedBatch, &man, c.Parameters(), enc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(images)*b.N)/b.Elapsed().Seconds(), "images/s")
		b.ReportMetric(float64(len(upload))/float64(len(images)), "upload-B/image")
		b.ReportMetric(float64(len(evk)), "evalkey-B")
	})
	b.Run("evaluate", func(b *testing.B) {
		for range b.N {
			if download, err = srv.PredictBytes(context.Background(), upload, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(images)*b.N)/b.Elapsed().Seconds(), "images/s")
		b.ReportMetric(float64(len(download))/float64(len(images)), "download-B/image")
	})
	b.Run("decrypt", func(b *testing.B) {
		for range b.N {
			if _, err := c.DecryptBytes(req, download); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(images)*b.N)/b.Elapsed().Seconds(), "images/s")
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			b.ReportMetric(float64(ru.Maxrss*1024), "peak-RSS-B") // kilobytes on Linux
		}
	})
}
