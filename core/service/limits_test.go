package service_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/remote"
	"github.com/cryptonets/cryptonets/core/service"
	"github.com/cryptonets/cryptonets/core/wire"
)

// metric returns the value of a metric without labels from /metrics.
func (e *env) metric(name string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.url + httpapi.PathMetrics)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatal(err)
			}
			return f
		}
	}
	e.t.Fatalf("no metric %s", name)
	return 0
}

// waitMetric waits until a metric satisfies ok.
func (e *env) waitMetric(name string, ok func(float64) bool) {
	e.t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok(e.metric(name)) {
			return
		}
	}
	e.t.Fatalf("%s stayed at %v", name, e.metric(name))
}

// batchPlanInfo returns the exact request length of the tests' batch plan and the
// memory one of its requests reserves.
func batchPlanInfo(t testing.TB, e *env) (size, reserve int64) {
	t.Helper()
	p, err := compile.Compile(e.model, compile.Options{Packing: manifest.Packing(batchPlan.Packing), Params: batchPlan.Params, AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	man := p.Manifest()
	size, err = wire.EncryptedBatchSize(&man)
	if err != nil {
		t.Fatal(err)
	}
	return size, size + p.Memory().Evaluation
}

// batchQuery names the tests' batch plan in a prediction.
var batchQuery = "?packing=" + batchPlan.Packing + "&params=" + batchPlan.Params

// hold starts a batch request that reserves its memory and then sends no more of
// its body, so that it holds the memory until the returned function closes it.
func (e *env) hold(size int64, header string) func() {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: test\r\n%sContent-Length: %d\r\n\r\nCNET", httpapi.ModelPath(httpapi.PathPredict, "mnist")+batchQuery, header, size)
	return func() { conn.Close() }
}

// TestMemoryBudgetQueuesAndRefuses runs a service whose budget holds one batch
// request at a time. While one holds it, another is refused at once (503 with
// Retry-After) if the queue is full, or waits in the queue and is served once the
// first is done; a client that retries gets its answer; a request that needs more
// than the whole budget is refused (413). At the end the budget holds only the plans.
func TestMemoryBudgetQueuesAndRefuses(t *testing.T) {
	ctx := context.Background()
	images := testImages(t, 4)
	// What the service holds at rest once a batch request has run: its plans.
	probe := newEnv(t, service.Config{}, "")
	if _, err := probe.connect(remote.Options{}).Predict(ctx, "mnist", images, batchPlan); err != nil {
		t.Fatal(err)
	}
	atRest := probe.metric("cryptonets_memory_in_use_bytes")
	size, reserve := batchPlanInfo(t, probe)
	budget := int64(atRest) + reserve*3/2
	newBudgetEnv := func(queue int) *env {
		e := newEnv(t, service.Config{WorkMemory: budget, Queue: queue, QueueTimeout: time.Minute}, "")
		if _, err := e.connect(remote.Options{}).Predict(ctx, "mnist", images, batchPlan); err != nil {
			t.Fatal(err)
		}
		if got := e.metric("cryptonets_memory_in_use_bytes"); got != atRest {
			t.Fatalf("%v bytes reserved at rest, the probe had %v", got, atRest)
		}
		return e
	}
	held := func(v float64) bool { return v >= atRest+float64(reserve) }

	t.Run("refused when the queue is full", func(t *testing.T) {
		e := newBudgetEnv(0)
		release := e.hold(size, "")
		e.waitMetric("cryptonets_memory_in_use_bytes", held)
		resp, err := http.Post(e.url+httpapi.ModelPath(httpapi.PathPredict, "mnist")+batchQuery, httpapi.ContentType, strings.NewReader(strings.Repeat("x", int(size))))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("HTTP %d, Retry-After %q: want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// A client that retries is served once the memory is free.
		svc := e.connect(remote.Options{Attempts: 20, Backoff: 50 * time.Millisecond})
		done := make(chan error)
		go func() {
			logits, err := svc.Predict(ctx, "mnist", images, batchPlan)
			if err == nil {
				checkLabels(t, e.model, images, logits)
			}
			done <- err
		}()
		refused := func() int {
			return e.logs.count(func(r map[string]any) bool { return r["status"] == int64(http.StatusServiceUnavailable) })
		}
		for refused() < 2 {
			time.Sleep(20 * time.Millisecond)
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if svc.Retries() == 0 {
			t.Error("the client was never refused")
		}
		e.waitMetric("cryptonets_memory_in_use_bytes", func(v float64) bool { return v == atRest })
	})

	t.Run("queued", func(t *testing.T) {
		e := newBudgetEnv(1)
		release := e.hold(size, "")
		e.waitMetric("cryptonets_memory_in_use_bytes", held)
		svc := e.connect(remote.Options{Attempts: 1})
		done := make(chan error)
		go func() {
			logits, err := svc.Predict(ctx, "mnist", images, batchPlan)
			if err == nil {
				checkLabels(t, e.model, images, logits)
			}
			done <- err
		}()
		e.waitMetric("cryptonets_queue_depth", func(v float64) bool { return v == 1 })
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		e.waitMetric("cryptonets_memory_in_use_bytes", func(v float64) bool { return v == atRest })
	})

	t.Run("larger than the budget", func(t *testing.T) {
		// A 128-bit batch request: refused from its length, before its body is sent.
		e := newBudgetEnv(1)
		info, err := e.connect(remote.Options{}).Model(ctx, "mnist")
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, p := range info.Packings {
			if p.Packing == "batch" {
				size = p.RequestBytes
			}
		}
		code, body := e.raw("POST", httpapi.ModelPath(httpapi.PathPredict, "mnist")+"?packing=batch", "X-Test: 1", int(size), nil, false, 0)
		if code != http.StatusRequestEntityTooLarge || body.Error.Code != errs.Code(errs.ErrLimit) {
			t.Errorf("a 128-bit batch request in a budget of %d bytes: HTTP %d, %+v; want 413", budget, code, body.Error)
		}
	})
}

// TestClientDisconnectCancelsEvaluation sends a 128-bit batch request (seconds of
// evaluation) and goes away as soon as it is sent: the service stops the evaluation
// and gives its memory back.
func TestClientDisconnectCancelsEvaluation(t *testing.T) {
	e := newEnv(t, service.Config{}, "")
	ctx := context.Background()
	man, err := e.connect(remote.Options{}).Manifest(ctx, "mnist", remote.Plan{Packing: "batch"})
	if err != nil {
		t.Fatal(err)
	}
	upload, _, err := keysClient(t, man).EncryptBytes(testImages(t, 8), nil)
	if err != nil {
		t.Fatal(err)
	}
	atRest := e.metric("cryptonets_memory_in_use_bytes")
	reqCtx, cancel := context.WithCancel(ctx)
	sent := make(chan struct{})
	req, err := http.NewRequestWithContext(reqCtx, "POST", e.url+httpapi.ModelPath(httpapi.PathPredict, "mnist")+"?packing=batch",
		&signalAtEOF{r: bytes.NewReader(upload), eof: sent})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(upload))
	go func() {
		<-sent
		e.waitMetric("cryptonets_evaluations_in_flight", func(v float64) bool { return v == 1 })
		cancel()
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the request was answered (HTTP %d) before the client went away", resp.StatusCode)
	}
	e.waitMetric("cryptonets_evaluations_in_flight", func(v float64) bool { return v == 0 })
	cancelled := func(r map[string]any) bool {
		msg, _ := r["error"].(string)
		return r["route"] == "POST "+httpapi.PathPredict && strings.Contains(msg, "evaluation cancelled") && r["status"] == int64(499)
	}
	if e.logs.count(cancelled) != 1 {
		t.Error("the service did not report the evaluation cancelled")
	}
	// What stays reserved is what the batch plan keeps for its next evaluation.
	e.waitMetric("cryptonets_memory_in_use_bytes", func(v float64) bool { return v <= atRest+float64(1<<30) })
}

// signalAtEOF is a reader that closes eof when its source is exhausted.
type signalAtEOF struct {
	r    io.Reader
	eof  chan struct{}
	once sync.Once
}

func (s *signalAtEOF) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.once.Do(func() { close(s.eof) })
	}
	return n, err
}

// TestTokensAndQuotas runs a service with two tokens: requests without a valid
// token are refused (401, JSON), a token cannot use another's keys (404), and each
// token's quotas hold: stored key bytes (413) and requests in flight (429, which a
// client with more requests in flight than its quota retries). Health, readiness
// and metrics need no token.
func TestTokensAndQuotas(t *testing.T) {
	const alice, bob = "alice-token-0123456789", "bob-token-9876543210"
	tokens := filepath.Join(t.TempDir(), "tokens")
	err := os.WriteFile(tokens, fmt.Appendf(nil, "# name token options\nalice %s in-flight=1\n\nbob %s key-bytes=1KiB\n", alice, bob), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	e := newProcessEnv(t, "--tokens", tokens)
	ctx := context.Background()
	for _, path := range []string{httpapi.PathHealth, httpapi.PathReady, httpapi.PathMetrics} {
		if code, _ := e.do("GET", path, nil, nil); code != http.StatusOK {
			t.Errorf("GET %s without a token: HTTP %d", path, code)
		}
	}
	for name, header := range map[string]map[string]string{"no token": nil, "unknown token": {"Authorization": "Bearer nobody-0123456789abc"},
		"not bearer": {"Authorization": "Basic " + alice}} {
		if code, body := e.do("GET", httpapi.PathModels, nil, header); code != http.StatusUnauthorized || body.Error.Status != code {
			t.Errorf("%s: HTTP %d, %+v", name, code, body.Error)
		}
	}
	_, err = e.connect(remote.Options{}).Models(ctx)
	if httpapi.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("a client without a token: %v", err)
	}

	images := testImages(t, 2)
	aliceSvc := e.connect(remote.Options{Token: alice})
	sess, err := aliceSvc.Session(ctx, "mnist", singlePlan)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := sess.Predict(ctx, images, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, e.model, images, logits)
	man := sess.Manifest()
	evk := keysFor(t, &man)
	// Bob's quota of stored keys is far below one set of keys.
	code, body := e.do("PUT", httpapi.PathKeys, evk, map[string]string{"Authorization": "Bearer " + bob})
	if code != http.StatusRequestEntityTooLarge || body.Error.Code != errs.Code(errs.ErrLimit) {
		t.Errorf("bob's keys over his quota: HTTP %d, %+v", code, body.Error)
	}
	// Alice's keys are not bob's.
	code, _ = e.do("PUT", httpapi.PathKeys, evk, map[string]string{"Authorization": "Bearer " + alice})
	if code != http.StatusCreated {
		t.Fatalf("alice's second keys: HTTP %d", code)
	}
	id := keystore.Sum(evk).String()
	for method, want := range map[string]int{"GET": 404, "DELETE": 404} {
		if code, _ := e.do(method, httpapi.PathKeys+"/"+id, nil, map[string]string{"Authorization": "Bearer " + bob}); code != want {
			t.Errorf("%s alice's keys with bob's token: HTTP %d, want %d", method, code, want)
		}
	}
	if code, _ := e.do("GET", httpapi.PathKeys+"/"+id, nil, map[string]string{"Authorization": "Bearer " + alice}); code != http.StatusOK {
		t.Errorf("GET alice's keys with her token: HTTP %d", code)
	}
	// Alice may have one request in flight: one that holds its memory while it sends
	// its body, and then no other.
	size, reserve := batchPlanInfo(t, e)
	before := e.metric("cryptonets_memory_in_use_bytes")
	release := e.hold(size, "Authorization: Bearer "+alice+"\r\n")
	defer release()
	e.waitMetric("cryptonets_memory_in_use_bytes", func(v float64) bool { return v >= before+float64(reserve) })
	_, err = e.connect(remote.Options{Token: alice, Attempts: 1}).Predict(ctx, "mnist", images, batchPlan)
	if httpapi.StatusOf(err) != http.StatusTooManyRequests || !errors.Is(err, errs.ErrLimit) {
		t.Errorf("alice's second request in flight: %v, want HTTP 429", err)
	}
	release()
	if code, _ := e.do("DELETE", httpapi.PathKeys+"/"+id, nil, map[string]string{"Authorization": "Bearer " + alice}); code != http.StatusNoContent {
		t.Errorf("DELETE alice's keys: HTTP %d", code)
	}
}

func TestParseTokensRejectsBadFiles(t *testing.T) {
	for name, text := range map[string]string{
		"empty":          "# nothing\n",
		"short token":    "alice short\n",
		"no token":       "alice\n",
		"bad name":       "al/ice 0123456789abcdef0\n",
		"same name":      "a 0123456789abcdef0\na 0123456789abcdef1\n",
		"same token":     "a 0123456789abcdef0\nb 0123456789abcdef0\n",
		"unknown option": "a 0123456789abcdef0 speed=9\n",
		"bad size":       "a 0123456789abcdef0 key-bytes=lots\n",
	} {
		if _, err := service.ParseTokens(strings.NewReader(text), service.Quota{}); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestKeyCacheIsBoundedInBytes runs a service whose key cache holds one client's
// keys: a second client's keys push the first's out, and the first client is then
// served with its keys loaded again from the store.
func TestKeyCacheIsBoundedInBytes(t *testing.T) {
	m := newEnv(t, service.Config{}, "").model
	p, err := compile.Compile(m, compile.Options{Packing: manifest.Packing(singlePlan.Packing), Params: singlePlan.Params, AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	man := p.Manifest()
	keyBytes, err := wire.EvaluationKeysMemory(&man)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, service.Config{KeyCache: keyBytes * 3 / 2}, "")
	ctx := context.Background()
	images := testImages(t, 1) // one image: the plan of one image per request
	alice, bob := e.connect(remote.Options{}), e.connect(remote.Options{})
	for _, svc := range []*remote.Service{alice, bob, alice, bob} {
		logits, err := svc.Predict(ctx, "mnist", images, singlePlan)
		if err != nil {
			t.Fatal(err)
		}
		checkLabels(t, e.model, images, logits)
		if n, b := e.metric("cryptonets_keys_cached"), e.metric("cryptonets_keys_cached_bytes"); n != 1 || b != float64(keyBytes) {
			t.Errorf("%v keys of %v bytes cached, want 1 of %d", n, b, keyBytes)
		}
	}
	if puts := e.logs.count(func(r map[string]any) bool { return r["method"] == "PUT" }); puts != 2 {
		t.Errorf("%d uploads of keys, want 2 (each client once)", puts)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "4KiB": 4 << 10, "1.5GiB": 3 << 29, "2g": 2 << 30, "3 MB": 3 << 20, "1T": 1 << 40} {
		if got, err := service.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1GiB", "4PiB", "1e3"} {
		if _, err := service.ParseSize(bad); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("ParseSize(%q): %v", bad, err)
		}
	}
}
