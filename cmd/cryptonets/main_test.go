package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/version"
)

// The tests run the real binary, built once by TestMain, as separate processes on
// files. testEnv says where it and the converted MNIST model are.
var testEnv struct {
	bin   string // the cryptonets binary
	model string // the converted MNIST model (.cnm)
	onnx  string // the ONNX source
}

// insecure are the flags of the small, fast, NOT secure parameter set of the tests.
var insecure = []string{"--params", "InsecureN11QP215", "--insecure"}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cryptonets-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testEnv.bin = filepath.Join(dir, "cryptonets")
	if out, err := exec.Command("go", "build", "-o", testEnv.bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	root := filepath.Join("..", "..")
	testEnv.onnx = filepath.Join(root, "models", "mnist", "mnist_cryptonets.onnx")
	testEnv.model = filepath.Join(root, defaultModel)
	if _, err := os.Stat(testEnv.model); err != nil {
		// The converted model is not in the tree: convert the ONNX file for the tests.
		testEnv.model = filepath.Join(dir, "mnist_cryptonets.cnm")
		out, err := exec.Command(testEnv.bin, "convert", testEnv.onnx, "-o", testEnv.model).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "convert: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

// result is what one run of the binary produced.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

// cn runs the binary with args and returns its exit code and output.
func cn(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testEnv.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("cryptonets %s: %v", strings.Join(args, " "), err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// ok runs the binary, fails the test unless it succeeds, and returns its stdout.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := cn(t, args...)
	if r.code != 0 {
		t.Fatalf("cryptonets %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// okJSON runs the binary with --json and decodes its stdout, which must be exactly
// one JSON object.
func okJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := ok(t, append(args, "--json")...)
	dec := json.NewDecoder(strings.NewReader(out))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("cryptonets %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if dec.More() {
		t.Fatalf("cryptonets %s: more than one JSON value on stdout", strings.Join(args, " "))
	}
	return v
}

// fails checks that r failed cleanly: the exit code of a class of error other than
// an internal one, one line on stderr that contains want, and no panic trace.
func fails(t *testing.T, r result, want string) {
	t.Helper()
	cmd := "cryptonets " + strings.Join(r.args, " ")
	if r.code < 1 || r.code > 10 || r.code == errs.Code(errs.ErrInternal) {
		t.Errorf("%s: exit code %d, want that of a class of error (stderr %q)", cmd, r.code, r.stderr)
	}
	msg := strings.TrimSuffix(r.stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("%s: want exactly one line on stderr, got %q", cmd, r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Errorf("%s: panic trace on stderr: %s", cmd, r.stderr)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("%s: stderr %q does not mention %q", cmd, msg, want)
	}
}

func TestUsage(t *testing.T) {
	r := cn(t)
	if r.code != errs.Code(errs.ErrInvalidArgument) || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no arguments: exit %d, stderr %q", r.code, r.stderr)
	}
	if out := ok(t, "-h"); !strings.Contains(out, "predict") {
		t.Errorf("-h does not list the commands: %s", out)
	}
	for _, cmd := range commands() {
		out := ok(t, cmd.name, "-h")
		if strings.Count(out, "Usage: cryptonets "+cmd.name) != 1 {
			t.Errorf("%s -h: %q", cmd.name, out)
		}
		if cmd.name != "version" && !strings.Contains(out, "-json") {
			t.Errorf("%s -h does not document --json", cmd.name)
		}
	}
	fails(t, cn(t, "frobnicate"), `unknown command "frobnicate"`)
	r = cn(t, "keygen", "--nope")
	fails(t, r, "flag provided but not defined: -nope")
	if r.stdout != "" {
		t.Errorf("a bad flag prints on stdout: %q", r.stdout)
	}
	fails(t, cn(t, "keygen", "--manifest", "m.bin"), "flag --secret-key is required")
	fails(t, cn(t, "inspect"), "want 1 file argument(s), got 0")
	if v := okJSON(t, "version"); v["version"] != version.Version || v["lattigo"] == "unknown" {
		t.Errorf("version: %v", v)
	}
}

func TestParseInterspersed(t *testing.T) {
	var stdout, stderr bytes.Buffer
	c := &cli{name: "cryptonets test", stdout: &stdout, stderr: &stderr}
	fs := c.flags("X", "test")
	o := fs.String("o", "", "")
	pos, err := c.parse(fs, []string{"a.onnx", "-o", "b.cnm", "--", "c"}, -1)
	if err != nil || *o != "b.cnm" || strings.Join(pos, ",") != "a.onnx,c" {
		t.Errorf("parse: %v %q %v", err, *o, pos)
	}
	if got := oneLine("a\nb\r\nc\n"); got != "a; b; c" {
		t.Errorf("oneLine: %q", got)
	}
}

func TestMissingModelHint(t *testing.T) {
	dir := t.TempDir()
	src, err := filepath.Abs(testEnv.onnx)
	if err != nil {
		t.Fatal(err)
	}
	onnxPath := filepath.Join(dir, "net.onnx")
	if err := os.Symlink(src, onnxPath); err != nil {
		t.Fatal(err)
	}
	cnm := filepath.Join(dir, "net.cnm")
	want := "run: cryptonets convert " + onnxPath + " -o " + cnm
	fails(t, cn(t, "manifest", cnm, "-o", filepath.Join(dir, "m.bin")), want)
	fails(t, cn(t, "demo", "--model", onnxPath), "convert it first: run: cryptonets convert "+onnxPath)
	fails(t, cn(t, "demo", "--model", filepath.Join(dir, "none.cnm")), "no such file")
}

// TestExitCodesAndJSONErrors checks that each class of failure has its exit code and,
// with --json, an error object on stdout.
func TestExitCodesAndJSONErrors(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.bin")
	if err := os.WriteFile(truncated, []byte("CNET\x02\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args  []string
		class error
	}{
		{[]string{"frobnicate", "--json"}, errs.ErrInvalidArgument},
		{[]string{"keygen", "--nope", "--json"}, errs.ErrInvalidArgument},
		{[]string{"inspect", filepath.Join(dir, "missing.bin"), "--json"}, errs.ErrIO},
		{[]string{"keygen", "--manifest", truncated, "--secret-key", filepath.Join(dir, "sk"), "--eval-keys", filepath.Join(dir, "ek"), "--json"}, errs.ErrMalformed},
		{[]string{"manifest", testEnv.model, "-o", filepath.Join(dir, "m.bin"), "--params", "InsecureN11QP215", "--json"}, errs.ErrInsecure},
	}
	for _, c := range cases {
		r := cn(t, c.args...)
		fails(t, r, "")
		if r.code != errs.Code(c.class) {
			t.Errorf("%v: exit code %d, want %d (%v): %s", c.args, r.code, errs.Code(c.class), c.class, r.stderr)
		}
		var v errorReport
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Error.Code != r.code || v.Error.Class != c.class.Error() || v.Error.Message == "" {
			t.Errorf("%v: JSON error %q (%v)", c.args, r.stdout, err)
		}
	}
}
