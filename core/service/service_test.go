package service_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/remote"
	"github.com/cryptonets/cryptonets/core/service"
	"github.com/cryptonets/cryptonets/core/wire"
)

const shippedModel = "../../models/mnist/mnist_cryptonets.cnm"

// The fast, NOT secure plans of the tests: batch and single-image packing.
var (
	batchPlan  = remote.Plan{Packing: "batch", Params: "InsecureN11QP215"}
	singlePlan = remote.Plan{Packing: "single", Params: "InsecureN12QP215S"}
)

// env is a service on a loopback port, with what the tests need around it: in
// this process (newEnv) or a real cryptonets serve process (newProcessEnv).
type env struct {
	t     testing.TB
	url   string
	model *model.Model
	dir   string
	logs  *logRecords
	// stop stops the service (and checks that it stopped well).
	stop func()
	// pid is the server process's, 0 for a service in this process.
	pid int
}

// newEnv serves the shipped model as "mnist" with cfg's settings (the defaults of
// the tests where zero): cfg.Store or a directory key store in a temporary directory
// (or dir), insecure plans accepted, 8 GiB of work memory.
func newEnv(t testing.TB, cfg service.Config, dir string) *env {
	t.Helper()
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	if cfg.Store == nil {
		store, err := keystore.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = store
	}
	logs := &logRecords{}
	cfg.Models = []service.Model{{Name: "mnist", Model: m}}
	cfg.Insecure, cfg.Logger = true, slog.New(logs)
	if cfg.WorkMemory == 0 {
		cfg.WorkMemory = 8 << 30
	}
	svc, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Close()
			svc.Close()
		})
	}
	t.Cleanup(stop)
	return &env{t: t, url: srv.URL, model: m, dir: dir, logs: logs, stop: stop}
}

// connect returns a client of the env's service.
func (e *env) connect(opts remote.Options) *remote.Service {
	e.t.Helper()
	opts.AllowInsecure = true
	svc, err := remote.Connect(e.url, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// plaintextLabels returns the labels of the model's float64 reference.
func plaintextLabels(t testing.TB, m *model.Model, images [][]float64) []int {
	t.Helper()
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(images))
	for i, img := range images {
		logits, err := ref.Forward(img)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = model.Argmax(logits)
	}
	return out
}

func testImages(t testing.TB, n int) [][]float64 {
	t.Helper()
	set, err := dataset.MNIST(dataset.MNISTTest, n)
	if err != nil {
		t.Fatal(err)
	}
	return set.Records
}

// checkLabels compares the argmax of logits with the plaintext model's labels.
func checkLabels(t testing.TB, m *model.Model, images, logits [][]float64) {
	t.Helper()
	want := plaintextLabels(t, m, images)
	if len(logits) != len(want) {
		t.Fatalf("%d results for %d images", len(logits), len(want))
	}
	for i := range want {
		if got := model.Argmax(logits[i]); got != want[i] {
			t.Errorf("image %d: label %d, the plaintext model says %d", i, got, want[i])
		}
	}
}

func TestPredictThroughTheService(t *testing.T) {
	e := newEnv(t, service.Config{}, "")
	images := testImages(t, 40)
	for name, plan := range map[string]remote.Plan{"batch": batchPlan, "single": singlePlan,
		"single x8": {Packing: "single", Params: "InsecureN12QP215S", Expect: 8}} {
		t.Run(name, func(t *testing.T) {
			var progress []int
			svc := e.connect(remote.Options{InFlight: 3, Progress: func(done, total int) { progress = append(progress, done) }})
			logits, err := svc.Predict(context.Background(), "mnist", images, plan)
			if err != nil {
				t.Fatal(err)
			}
			checkLabels(t, e.model, images, logits)
			if len(progress) == 0 || progress[len(progress)-1] != len(images) {
				t.Errorf("progress %v does not end at %d", progress, len(images))
			}
		})
	}
}

// TestKeysUploadedOnceAndKeptAcrossRestarts: a client that keeps its keys (KeysDir)
// uploads them once; a new service on the same store serves them without an upload.
func TestKeysUploadedOnceAndKeptAcrossRestarts(t *testing.T) {
	storeDir, keysDir := t.TempDir(), t.TempDir()
	images := testImages(t, 3)
	for run := range 3 {
		e := newEnv(t, service.Config{}, storeDir)
		svc := e.connect(remote.Options{KeysDir: keysDir})
		logits, err := svc.Predict(context.Background(), "mnist", images, singlePlan)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		checkLabels(t, e.model, images, logits)
		puts := e.logs.count(func(r map[string]any) bool { return r["method"] == "PUT" && r["status"] == int64(201) })
		if want := map[bool]int{true: 1, false: 0}[run == 0]; puts != want {
			t.Errorf("run %d: %d uploads of keys, want %d", run, puts, want)
		}
		e.stop()
	}
}

// TestBadRequestsGetJSONErrors sends malformed and mismatched requests: each gets a
// 4xx status and a JSON error of the right class, and the service goes on serving.
func TestBadRequestsGetJSONErrors(t *testing.T) {
	// A real server process; the slow client's body is due within 2 s.
	e := newProcessEnv(t, "--body-timeout", "2s")
	ctx := context.Background()
	svc := e.connect(remote.Options{})
	sess, err := svc.Session(ctx, "mnist", singlePlan)
	if err != nil {
		t.Fatal(err)
	}
	man := sess.Manifest()
	c, err := client.New(&man, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	good, _, err := c.EncryptBytes(testImages(t, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	evk, err := c.EvaluationKeysBytes()
	if err != nil {
		t.Fatal(err)
	}
	keyID := keystore.Sum(evk).String()
	if code, _ := e.do("PUT", httpapi.PathKeys, evk, nil); code != http.StatusCreated {
		t.Fatalf("uploading keys: HTTP %d", code)
	}
	batchMan, err := svc.Manifest(ctx, "mnist", batchPlan)
	if err != nil {
		t.Fatal(err)
	}
	batchRequest, _, err := keysClient(t, batchMan).EncryptBytes(testImages(t, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	otherParams := bytes.Clone(good)
	otherParams[8] ^= 1 // the envelope's parameter fingerprint
	otherModelKeys := keysFor(t, tinyManifest(t))
	predict := httpapi.ModelPath(httpapi.PathPredict, "mnist")
	withKey := map[string]string{httpapi.HeaderKeyID: keyID}
	otherKind := bytes.Clone(good)
	otherKind[6] = byte(wire.KindEncryptedResult)
	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		header map[string]string
		status int
		class  error
	}{
		{"Content-Length of a part", "POST", predict, good[:len(good)/2], withKey, 400, errs.ErrMalformed},
		{"body of another kind", "POST", predict, otherKind, withKey, 409, errs.ErrMismatch},
		{"keys sent as a request", "POST", predict, evk, withKey, 400, errs.ErrMalformed},
		{"unknown key id", "POST", predict, good, map[string]string{httpapi.HeaderKeyID: strings.Repeat("ab", 32)}, 404, errs.ErrInvalidArgument},
		{"malformed key id", "POST", predict, good, map[string]string{httpapi.HeaderKeyID: "xyz"}, 400, errs.ErrInvalidArgument},
		{"unknown model", "POST", httpapi.ModelPath(httpapi.PathPredict, "nope"), good, withKey, 404, errs.ErrInvalidArgument},
		{"plan that needs keys, without", "POST", predict + "?packing=single&params=InsecureN12QP215S", good, nil, 400, errs.ErrInvalidArgument},
		{"keys for another model", "PUT", httpapi.PathKeys, otherModelKeys, nil, 409, errs.ErrMismatch},
		{"a request for other parameters than the keys'", "POST", predict, otherParams, withKey, 409, errs.ErrMismatch},
		{"a request of another plan than the keys'", "POST", predict, batchRequest, withKey, 400, errs.ErrMalformed},
		{"truncated keys", "PUT", httpapi.PathKeys, evk[:len(evk)-100], nil, 400, errs.ErrMalformed},
		{"not keys", "PUT", httpapi.PathKeys, good, nil, 409, errs.ErrMismatch},
		{"garbage", "PUT", httpapi.PathKeys, []byte("hello, world: not an envelope at all, clearly"), nil, 400, errs.ErrMalformed},
		{"unknown packing", "GET", httpapi.ModelPath(httpapi.PathManifest, "mnist") + "?packing=diagonal", nil, nil, 400, errs.ErrInvalidArgument},
		{"bad expect", "GET", httpapi.ModelPath(httpapi.PathManifest, "mnist") + "?expect=-3", nil, nil, 400, errs.ErrInvalidArgument},
		{"unknown path", "GET", "/v2/everything", nil, nil, 404, errs.ErrInvalidArgument},
	}
	for _, tc := range cases {
		code, body := e.do(tc.method, tc.path, tc.body, tc.header)
		if code != tc.status {
			t.Errorf("%s: HTTP %d, want %d (%s)", tc.name, code, tc.status, body.Error.Message)
		}
		if body.Error.Code != errs.Code(tc.class) || body.Error.Status != code || body.Error.Message == "" {
			t.Errorf("%s: error body %+v, want class %v", tc.name, body.Error, tc.class)
		}
	}
	// Raw connections: a body cut short (the client closes its side), a
	// Content-Length longer or shorter than any upload of the plan's (refused before
	// the body is read: the client sends part of it and waits; beyond the largest
	// upload with 413), and a client that sends one byte a second (refused when the
	// body's deadline passes).
	keyHeader := httpapi.HeaderKeyID + ": " + keyID
	raws := []struct {
		name   string
		length int
		body   []byte
		close  bool
		pace   time.Duration
		status int
	}{
		{"truncated body", len(good), good[:len(good)/2], true, 0, 400},
		{"Content-Length too short", len(good) - 10, good[:1000], false, 0, 400},
		{"Content-Length too long", len(good) + 10, good[:1000], false, 0, 400},
		{"Content-Length beyond the largest upload", 1 << 50, good[:1000], false, 0, 413},
		{"one byte a second", len(good), good[:5], false, time.Second, 408},
	}
	for _, tc := range raws {
		code, body := e.raw("POST", predict, keyHeader, tc.length, tc.body, tc.close, tc.pace)
		if code != tc.status || body.Error.Status != code || body.Error.Message == "" {
			t.Errorf("%s: HTTP %d, error %+v; want HTTP %d with a JSON error", tc.name, code, body.Error, tc.status)
		}
	}
	// The service is still serving.
	logits, err := sess.Predict(ctx, testImages(t, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, e.model, testImages(t, 2), logits)
}

// tinyManifest is the manifest of a model this service does not serve.
func tinyManifest(t testing.TB) *manifest.Manifest {
	t.Helper()
	m := &model.Model{Name: "tiny", Input: model.Shape{C: 3, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{&model.Dense{In: 3, Out: 2, Weights: []float64{1, -1, 0.5, 0.2, 0.3, -0.4}, Bias: []float64{0.1, 0}}}}
	p, err := compile.Compile(m, compile.Options{Params: "InsecureN11QP215", AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	man := p.Manifest()
	return &man
}

// keysClient returns a client for a manifest.
func keysClient(t testing.TB, m *manifest.Manifest) *client.Client {
	t.Helper()
	c, err := client.New(m, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keysFor makes sealed evaluation keys for a manifest.
func keysFor(t testing.TB, m *manifest.Manifest) []byte {
	t.Helper()
	evk, err := keysClient(t, m).EvaluationKeysBytes()
	if err != nil {
		t.Fatal(err)
	}
	return evk
}

// do sends one request and decodes the JSON error of a failure.
func (e *env) do(method, path string, body []byte, header map[string]string) (int, httpapi.ErrorBody) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb httpapi.ErrorBody
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			e.t.Errorf("%s %s: HTTP %d with Content-Type %q", method, path, resp.StatusCode, ct)
		}
		if err := json.Unmarshal(data, &eb); err != nil {
			e.t.Errorf("%s %s: HTTP %d, body is not JSON: %q", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, eb
}

// raw sends a request on a connection of its own: the request line and headers
// with the given Content-Length, then the body, a byte per pace if pace is set, then
// (if closeWrite) the end of its side of the connection. It returns the status and
// JSON error of the answer, which may come before the body is sent.
func (e *env) raw(method, path, header string, length int, body []byte, closeWrite bool, pace time.Duration) (int, httpapi.ErrorBody) {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: test\r\n%s\r\nContent-Length: %d\r\n\r\n", method, path, header, length)
	go func() {
		if pace == 0 {
			conn.Write(body)
		} else {
			for i := range body {
				if _, err := conn.Write(body[i : i+1]); err != nil {
					return
				}
				time.Sleep(pace)
			}
		}
		if closeWrite {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		for _, r := range e.logs.records {
			e.t.Log(r)
		}
		e.t.Fatalf("%s %s (Content-Length %d, %d bytes sent): %v", method, path, length, len(body), err)
	}
	defer resp.Body.Close()
	var eb httpapi.ErrorBody
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &eb)
	return resp.StatusCode, eb
}

// logRecords keeps the attributes of every log record of a service: a slog.Handler
// for a service in this process, fed JSON lines for a process.
type logRecords struct {
	mu      sync.Mutex
	records []map[string]any
}

func (l *logRecords) add(rec map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, rec)
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]any{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool {
		rec[a.Key] = a.Value.Any()
		return true
	})
	l.add(rec)
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// count returns the number of records for which match is true.
func (l *logRecords) count(match func(map[string]any) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if match(r) {
			n++
		}
	}
	return n
}

// TestSequenceUploads posts an upload of any number of records as cryptonets encrypt
// writes it (a sequence of requests): the answer is the sequence of their results,
// which decrypts to the plaintext model's labels in order. A length that is neither
// one request nor a sequence of them is refused before the body is read.
func TestSequenceUploads(t *testing.T) {
	e := newEnv(t, service.Config{}, "")
	ctx := context.Background()
	sess, err := e.connect(remote.Options{}).Session(ctx, "mnist", singlePlan)
	if err != nil {
		t.Fatal(err)
	}
	man := sess.Manifest()
	// The session uploaded its keys; this client makes its own.
	c := keysClient(t, &man)
	evk, err := c.EvaluationKeysBytes()
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := e.do("PUT", httpapi.PathKeys, evk, nil); code != http.StatusCreated {
		t.Fatalf("keys: HTTP %d", code)
	}
	images := testImages(t, 3)
	var upload bytes.Buffer
	requests, _, err := c.WriteUpload(&upload, images, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	predict := e.url + httpapi.ModelPath(httpapi.PathPredict, "mnist")
	req, err := http.NewRequest("POST", predict, bytes.NewReader(upload.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(httpapi.HeaderKeyID, keystore.Sum(evk).String())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get(httpapi.HeaderRequests) != "3" {
		t.Fatalf("HTTP %d, %s requests", resp.StatusCode, resp.Header.Get(httpapi.HeaderRequests))
	}
	logits, err := c.ReadDownload(resp.Body, requests)
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, e.model, images, logits)

	withKey := map[string]string{httpapi.HeaderKeyID: keystore.Sum(evk).String()}
	if code, body := e.do("POST", httpapi.ModelPath(httpapi.PathPredict, "mnist"), upload.Bytes()[:upload.Len()-100], withKey); code != http.StatusBadRequest {
		t.Errorf("a sequence 100 bytes short: HTTP %d (%s), want 400", code, body.Error.Message)
	}
}
