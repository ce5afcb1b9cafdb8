package service_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/remote"
)

// binary is the cryptonets command, built once for the tests that run the real
// server, in a directory TestMain removes.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// cryptonetsBinary builds the cryptonets command (once).
func cryptonetsBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "cryptonets-service-test"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "cryptonets")
		out, err := exec.Command("go", "build", "-o", binary.path, "../../cmd/cryptonets").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// maxLogLine bounds a log line of the service: none carries a key or a ciphertext
// (the smallest, a single-image request of the tests, is 0.6 MB).
const maxLogLine = 2048

// newProcessEnv starts a real cryptonets serve process serving the shipped model as
// "mnist" on a loopback port, with JSON logs, insecure plans accepted, a key store in
// a temporary directory and the extra flags args. Its stop sends SIGTERM and checks
// that the process stopped cleanly.
func newProcessEnv(t testing.TB, args ...string) *env {
	t.Helper()
	dir := t.TempDir()
	return startProcess(t, dir, nil, append([]string{"--model", "mnist=" + shippedModel,
		"--listen", "127.0.0.1:0", "--keys-dir", dir, "--insecure", "--json"}, args...))
}

// startProcess starts cryptonets serve with the flags args and the environment
// variables environ added to this process's, for the key store dir.
func startProcess(t testing.TB, dir string, environ, args []string) *env {
	t.Helper()
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cryptonetsBinary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), environ...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &logRecords{}
	address := make(chan string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if n := len(sc.Bytes()); n > maxLogLine {
				t.Errorf("a log line of %d bytes: %.200s…", n, sc.Text())
			}
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				rec = map[string]any{"msg": "not JSON", "line": sc.Text()}
			}
			for k, v := range rec {
				if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
					rec[k] = int64(f) // as in a service of this process
				}
			}
			logs.add(rec)
			if rec["msg"] == "serving" {
				address <- rec["address"].(string)
			}
		}
		exited <- cmd.Wait()
	}()
	var url string
	select {
	case a := <-address:
		url = "http://" + a
	case err := <-exited:
		t.Fatalf("cryptonets serve exited: %v; logs: %v", err, logs.records)
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("cryptonets serve did not start")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("cryptonets serve stopped with %v", err)
				}
				if logs.count(func(r map[string]any) bool { return r["msg"] == "stopped" }) != 1 {
					t.Error("cryptonets serve did not log that it stopped")
				}
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Error("cryptonets serve did not stop within a minute of SIGTERM")
			}
		})
	}
	t.Cleanup(stop)
	return &env{t: t, url: url, model: m, dir: dir, logs: logs, stop: stop, pid: cmd.Process.Pid}
}

// TestCLIRemotePredict runs cryptonets remote predict against a real server on
// 1,000 MNIST test images at 128 bits, in batch packing and in single-image
// packing (8 images per request): the labels it writes equal the plaintext model's.
func TestCLIRemotePredict(t *testing.T) {
	e := newProcessEnv(t)
	images := testImages(t, 1000)
	want := plaintextLabels(t, e.model, images)
	for _, packing := range []string{"batch", "single"} {
		t.Run(packing, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "labels.csv")
			cmd := exec.Command(cryptonetsBinary(t), "remote", "predict", "--server", e.url, "--model", "mnist",
				"--images", "1000", "--packing", packing, "--out", out, "--json", "-q")
			cmd.Stderr = os.Stderr
			stdout, err := cmd.Output()
			if err != nil {
				t.Fatalf("remote predict: %v\n%s", err, stdout)
			}
			var rep struct {
				Packing  string  `json:"packing"`
				Params   string  `json:"params"`
				Requests int     `json:"requests"`
				Accuracy float64 `json:"accuracy"`
			}
			if err := json.Unmarshal(stdout, &rep); err != nil {
				t.Fatalf("report: %v: %s", err, stdout)
			}
			if rep.Packing != packing || strings.HasPrefix(rep.Params, "Insecure") {
				t.Errorf("report %+v: want %s packing at 128 bits", rep, packing)
			}
			got := readLabelsCSV(t, out)
			if len(got) != len(want) {
				t.Fatalf("%d labels for %d images", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("image %d: label %d, the plaintext model says %d", i, got[i], want[i])
				}
			}
			t.Logf("%s: %d requests, accuracy %.2f %%", packing, rep.Requests, 100*rep.Accuracy)
		})
	}
}

// readLabelsCSV reads the label column of a predictions file (cryptonets decrypt
// --out labels.csv).
func readLabelsCSV(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 1 {
		t.Fatalf("%s: %v", path, err)
	}
	col := slices.Index(rows[0], "label")
	if col < 0 {
		t.Fatalf("%s has no label column: %v", path, rows[0])
	}
	var labels []int
	for i, row := range rows[1:] {
		label, err := strconv.Atoi(row[col])
		if err != nil {
			t.Fatalf("%s row %d: %v", path, i+1, err)
		}
		labels = append(labels, label)
	}
	return labels
}

// TestGracefulShutdown sends SIGTERM while a request is being evaluated: the
// request is answered, then the server stops (exit status 0) and refuses new
// connections.
func TestGracefulShutdown(t *testing.T) {
	e := newProcessEnv(t)
	images := testImages(t, 8)
	svc := e.connect(remote.Options{Attempts: 1})
	done := make(chan error)
	go func() {
		logits, err := svc.Predict(context.Background(), "mnist", images, batchPlan)
		if err == nil {
			checkLabels(t, e.model, images, logits)
		}
		done <- err
	}()
	e.waitMetric("cryptonets_evaluations_in_flight", func(v float64) bool { return v == 1 })
	e.stop()
	if err := <-done; err != nil {
		t.Fatalf("the request in flight at SIGTERM: %v", err)
	}
	if _, err := http.Get(e.url + httpapi.PathHealth); err == nil {
		t.Error("the server still answers after it stopped")
	}
}

// TestConfigurationFromTheEnvironment starts cryptonets serve with no flag: the
// environment variables say everything (as the Dockerfile in deploy/ does).
func TestConfigurationFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	e := startProcess(t, dir, []string{"CRYPTONETS_MODEL=mnist=" + shippedModel, "CRYPTONETS_LISTEN=127.0.0.1:0",
		"CRYPTONETS_KEYS_DIR=" + dir, "CRYPTONETS_JSON=true", "CRYPTONETS_MEMORY=3GiB", "CRYPTONETS_KEY_CACHE=512MiB",
		"CRYPTONETS_INSECURE=true"}, nil)
	if budget := e.metric("cryptonets_memory_budget_bytes"); budget <= 0 || budget > 2.5*(1<<30) {
		t.Errorf("a work budget of %v bytes for CRYPTONETS_MEMORY=3GiB and CRYPTONETS_KEY_CACHE=512MiB", budget)
	}
	images := testImages(t, 2)
	logits, err := e.connect(remote.Options{}).Predict(context.Background(), "mnist", images, singlePlan)
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, e.model, images, logits)
	entries, err := os.ReadDir(filepath.Join(dir, "_anonymous"))
	if err != nil || len(entries) != 1 {
		t.Errorf("the keys are not in CRYPTONETS_KEYS_DIR: %v, %v", entries, err)
	}
}

// TestServeRefusesBadConfigurations: a budget too small for anything, a missing
// model, an unknown flag: each a one-line error and the exit code of its class.
func TestServeRefusesBadConfigurations(t *testing.T) {
	for name, args := range map[string][]string{
		"memory":   {"--model", shippedModel, "--memory", "64MiB"},
		"no model": {"--listen", "127.0.0.1:0"},
		"missing":  {"--model", "no-such-model.cnm"},
		"tokens":   {"--model", shippedModel, "--tokens", "no-such-file"},
	} {
		out, err := exec.Command(cryptonetsBinary(t), append([]string{"serve", "--keys-dir", t.TempDir()}, args...)...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 || len(strings.Split(strings.TrimSpace(string(out)), "\n")) != 1 {
			t.Errorf("%s: %v, output %q; want a failure with one line", name, err, out)
		}
	}
}
