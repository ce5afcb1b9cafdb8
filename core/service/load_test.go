package service_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/remote"
	"github.com/cryptonets/cryptonets/core/service"
)

// load describes a load run: clients sending requests concurrently to a real server
// started with a memory budget below what they would need at once.
type load struct {
	// clients lists each client's plan; each sends requests requests of images
	// images (one request each), one at a time.
	clients  []remote.Plan
	requests int
	images   int
	// memory is the server's --memory.
	memory string
}

// loadResult is what a load run measured.
type loadResult struct {
	requests, wrong  int
	seconds          float64
	p50, p99         time.Duration
	retries          int
	maxQueue         float64
	peakRSS, memory  int64
	requestsBySecond float64
}

func (r loadResult) String() string {
	return fmt.Sprintf("%d requests in %.1f s (%.2f requests/s), latency p50 %.3f s, p99 %.3f s, %d wrong, %d retries after 503, "+
		"queue up to %.0f, peak RSS %.0f MiB of a %.0f MiB budget", r.requests, r.seconds, r.requestsBySecond,
		r.p50.Seconds(), r.p99.Seconds(), r.wrong, r.retries, r.maxQueue, float64(r.peakRSS)/(1<<20), float64(r.memory)/(1<<20))
}

// runLoad starts a server and runs the load: every client makes its keys (uploaded
// once), then all send their requests at once; each request's labels are checked
// against the plaintext model. It returns the figures, the server's peak RSS among
// them (VmHWM).
func runLoad(t testing.TB, l load) loadResult {
	e := newProcessEnv(t, "--memory", l.memory, "--queue", "64", "--queue-timeout", "10m")
	ctx := context.Background()
	test := testImages(t, l.images*l.requests)
	want := plaintextLabels(t, e.model, test)
	sessions := make([]*remote.Session, len(l.clients))
	svcs := make([]*remote.Service, len(l.clients))
	for i, plan := range l.clients {
		svcs[i] = e.connect(remote.Options{InFlight: 1, Attempts: 1000, Backoff: 100 * time.Millisecond})
		plan.Expect = l.images
		s, err := svcs[i].Session(ctx, "mnist", plan)
		if err != nil {
			t.Fatal(err)
		}
		sessions[i] = s
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wrong     int
		failures  []error
		wg        sync.WaitGroup
	)
	stop := make(chan struct{})
	var maxQueue float64
	go func() { // the queue's depth, sampled
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if q := e.metric("cryptonets_queue_depth"); q > maxQueue {
					maxQueue = q
				}
			}
		}
	}()
	start := time.Now()
	for i, s := range sessions {
		wg.Go(func() {
			for r := range l.requests {
				lo := (i*l.requests + r) % (len(test) - l.images + 1)
				began := time.Now()
				logits, err := s.Predict(ctx, test[lo:lo+l.images], nil)
				took := time.Since(began)
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					latencies = append(latencies, took)
					for k, lg := range logits {
						if model.Argmax(lg) != want[lo+k] {
							wrong++
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	for _, err := range failures {
		t.Errorf("a request failed: %v", err)
	}
	slices.Sort(latencies)
	res := loadResult{requests: len(latencies), wrong: wrong, seconds: elapsed.Seconds(),
		requestsBySecond: float64(len(latencies)) / elapsed.Seconds(), maxQueue: maxQueue, peakRSS: e.peakRSS()}
	if n := len(latencies); n > 0 {
		res.p50, res.p99 = latencies[n/2], latencies[min(n-1, n*99/100)]
	}
	for _, s := range svcs {
		res.retries += s.Retries()
	}
	memory, err := service.ParseSize(l.memory)
	if err != nil {
		t.Fatal(err)
	}
	res.memory = memory
	return res
}

// TestLoad is the light load of make test: 8 clients (2 batch, 6 single-image, at
// the insecure test parameters) × 3 requests on a server whose --memory holds one
// batch request at a time: every request is answered with the plaintext model's
// labels, the excess waits in the queue, and the server's peak RSS stays within
// --memory. BenchmarkLoad is the full load at 128 bits.
func TestLoad(t *testing.T) {
	var clients []remote.Plan
	for i := range 8 {
		clients = append(clients, map[bool]remote.Plan{true: batchPlan, false: singlePlan}[i%4 == 0])
	}
	res := runLoad(t, load{clients: clients, requests: 3, images: 4, memory: "1536MiB"})
	t.Log(res)
	if res.requests != 24 || res.wrong != 0 {
		t.Errorf("%d of 24 requests answered, %d labels wrong", res.requests, res.wrong)
	}
	if res.maxQueue == 0 && res.retries == 0 {
		t.Error("no request ever waited: the budget did not bind")
	}
	if res.peakRSS > res.memory {
		t.Errorf("peak RSS %d bytes, over --memory %d", res.peakRSS, res.memory)
	}
}

// BenchmarkLoad is the load of the service issue at 128 bits: 16 clients (2 in batch
// packing, 14 in single-image packing, one image per request) × 20 requests at once,
// on a server with --memory 4.5GiB (they would need about 5.5 GiB at once):
//
//	go test -run XXX -bench Load -benchtime 1x -v ./core/service
func BenchmarkLoad(b *testing.B) {
	var clients []remote.Plan
	for i := range 16 {
		clients = append(clients, map[bool]remote.Plan{true: {Packing: "batch"}, false: {Packing: "single"}}[i%8 == 0])
	}
	for range b.N {
		res := runLoad(b, load{clients: clients, requests: 20, images: 1, memory: "4608MiB"})
		b.Log(res)
		b.ReportMetric(res.requestsBySecond, "requests/s")
		b.ReportMetric(res.p50.Seconds(), "p50-s")
		b.ReportMetric(res.p99.Seconds(), "p99-s")
		b.ReportMetric(float64(res.peakRSS)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(res.wrong), "wrong")
		b.ReportMetric(float64(res.retries), "retries")
		if res.wrong != 0 || res.peakRSS > res.memory {
			b.Errorf("%d labels wrong; peak RSS %d bytes against --memory %d", res.wrong, res.peakRSS, res.memory)
		}
	}
}

// peakRSS returns the server process's peak resident memory (VmHWM).
func (e *env) peakRSS() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.pid))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				e.t.Fatal(err)
			}
			return kb << 10
		}
	}
	e.t.Fatal("no VmHWM")
	return 0
}
