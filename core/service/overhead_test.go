package service_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/remote"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// BenchmarkOverhead measures what HTTP adds, at 128 bits, against a real server
// process on a loopback port:
//
//   - a full batch (8,192 MNIST test images): the POST of the sealed request to the
//     server and its sealed result back, against the same request opened, evaluated
//     and sealed in this process (server.PredictBytes), taken in turn three times
//     (the fastest of each is reported, and their ratio);
//
//   - one single-packing request end to end (encrypt, HTTP, evaluate, decrypt),
//     twenty times (median and fastest).
//
//     go test -run XXX -bench Overhead -benchtime 1x -v ./core/service
func BenchmarkOverhead(b *testing.B) {
	e := newProcessEnv(b, "--memory", "6GiB")
	ctx := context.Background()
	set, err := dataset.MNIST(dataset.MNISTTest, 8192)
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		// A full batch: in this process and through HTTP.
		p, err := compile.Compile(e.model, compile.Options{Packing: "batch"})
		if err != nil {
			b.Fatal(err)
		}
		man := p.Manifest()
		c, err := client.New(&man)
		if err != nil {
			b.Fatal(err)
		}
		srv, err := server.New(p, &wire.EvaluationKeys{Params: man.ParamsFingerprint})
		if err != nil {
			b.Fatal(err)
		}
		upload, request, err := c.EncryptBytes(set.Records[:man.ImagesPerBatch], nil)
		if err != nil {
			b.Fatal(err)
		}
		url := e.url + httpapi.ModelPath(httpapi.PathPredict, "mnist") + "?packing=batch"
		var inProcess, overHTTP []time.Duration
		for range 3 {
			start := time.Now()
			if _, err := srv.PredictBytes(ctx, bytes.Clone(upload), nil); err != nil {
				b.Fatal(err)
			}
			inProcess = append(inProcess, time.Since(start))
			start = time.Now()
			resp, err := http.Post(url, httpapi.ContentType, bytes.NewReader(upload))
			if err != nil {
				b.Fatal(err)
			}
			result, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d: %v %s", resp.StatusCode, err, result)
			}
			overHTTP = append(overHTTP, time.Since(start))
			if _, err := c.DecryptBytes(request, result); err != nil {
				b.Fatal(err)
			}
		}
		in, web := slices.Min(inProcess), slices.Min(overHTTP)
		b.Logf("full batch: in process %v, through HTTP %v (fastest of 3 each: %v, %v): HTTP/in-process %.3f",
			in.Round(time.Millisecond), web.Round(time.Millisecond), inProcess, overHTTP, web.Seconds()/in.Seconds())
		b.ReportMetric(in.Seconds(), "batch-in-process-s")
		b.ReportMetric(web.Seconds(), "batch-http-s")
		b.ReportMetric(web.Seconds()/in.Seconds(), "http/in-process")

		// One single-packing request, end to end.
		svc := e.connect(remote.Options{})
		sess, err := svc.Session(ctx, "mnist", remote.Plan{Packing: "single", Expect: 1})
		if err != nil {
			b.Fatal(err)
		}
		var single []time.Duration
		for i := range 21 {
			start := time.Now()
			if _, err := sess.Predict(ctx, set.Records[i:i+1], nil); err != nil {
				b.Fatal(err)
			}
			if i > 0 { // the first warms the connection and the server's cache
				single = append(single, time.Since(start))
			}
		}
		slices.Sort(single)
		b.Logf("one single-packing request end to end: median %v, fastest %v (20 requests)",
			single[len(single)/2].Round(time.Millisecond), single[0].Round(time.Millisecond))
		b.ReportMetric(single[len(single)/2].Seconds()*1000, "single-median-ms")
		b.ReportMetric(single[0].Seconds()*1000, "single-min-ms")
	}
}
