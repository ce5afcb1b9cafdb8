package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/wire"
)

// flowImages is the number of MNIST test images the client/server test encrypts.
const flowImages = 64

// TestClientServer plays the model owner, the client and the server as separate
// processes that only share files, then checks the error paths on those files.
func TestClientServer(t *testing.T) {
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }

	// Model owner.
	ok(t, append([]string{"manifest", testEnv.model, "-o", f("manifest.bin")}, insecure...)...)
	// Client.
	ok(t, "keygen", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--eval-keys", f("evk.bin"))
	st, err := os.Stat(f("sk.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret key file mode %v, want 0600", st.Mode().Perm())
	}
	enc := okJSON(t, "encrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"),
		"--images", "64", "--offset", "0", "-o", f("batch.bin"), "--inputs-out", f("inputs.json"))
	if enc["records"] != float64(flowImages) || enc["ciphertexts"] != float64(28*28) || enc["requests"] != 1.0 {
		t.Errorf("encrypt report: %v", enc)
	}
	// Server: its argv names a model, evaluation keys and a batch, and nothing else.
	predictArgs := []string{"predict", "--model", testEnv.model, "--eval-keys", f("evk.bin"),
		"--in", f("batch.bin"), "-o", f("result.bin"), "--insecure"}
	checkServerInputs(t, predictArgs, f("sk.bin"))
	ok(t, predictArgs...)
	// Client.
	dec := okJSON(t, "decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--request", f("batch.bin"),
		"--in", f("result.bin"), "--inputs", f("inputs.json"), "--out", f("predictions.json"), "--logits")

	var got struct {
		Labels []int       `json:"labels"`
		Logits [][]float64 `json:"logits"`
	}
	raw, _ := json.Marshal(dec)
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := plaintextLabels(t, flowImages)
	if len(got.Labels) != flowImages || len(got.Logits) != flowImages {
		t.Fatalf("decrypt: %d labels and %d logits, want %d", len(got.Labels), len(got.Logits), flowImages)
	}
	for i := range want {
		if got.Labels[i] != want[i] {
			t.Errorf("image %d: encrypted prediction %d, plaintext reference %d", i, got.Labels[i], want[i])
		}
	}
	if acc, _ := dec["accuracy"].(float64); acc < 0.95 {
		t.Errorf("decrypt: accuracy %v against the labels of inputs.json", dec["accuracy"])
	}
	if _, err := os.Stat(f("predictions.json")); err != nil {
		t.Errorf("decrypt --out: %v", err)
	}

	t.Run("inspect", func(t *testing.T) { checkInspect(t, dir) })
	t.Run("errors", func(t *testing.T) { checkErrors(t, dir) })
}

// checkServerInputs asserts that the server process gets no secret key: predict has no
// flag for one and refuses one, and every file in its argv is a model file, evaluation
// keys or an encrypted batch.
func checkServerInputs(t *testing.T, args []string, skPath string) {
	t.Helper()
	help := ok(t, "predict", "-h")
	for _, line := range strings.Split(help, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "-") && strings.Contains(strings.ToLower(line), "secret") {
			t.Errorf("predict has a flag about a secret key: %q", line)
		}
	}
	fails(t, cn(t, append(args, "--secret-key", skPath)...), "flag provided but not defined: -secret-key")
	for i, a := range args {
		if a == skPath {
			t.Fatalf("predict argv contains the secret key file")
		}
		if i == 0 || !strings.HasPrefix(args[i-1], "-") {
			continue
		}
		switch args[i-1] {
		case "--model":
			data, err := os.ReadFile(a)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := wire.Peek(data); err == nil {
				t.Errorf("--model %s is an envelope, want a model file", a)
			}
			if _, err := model.Load(a); err != nil {
				t.Errorf("--model %s: %v", a, err)
			}
		case "--eval-keys":
			checkKind(t, a, wire.KindEvaluationKeys)
		case "--in":
			checkKind(t, a, wire.KindEncryptedBatch)
		case "-o", "--params":
		default:
			t.Errorf("unexpected predict flag %s", args[i-1])
		}
	}
}

// checkKind asserts that the file at path is an envelope of the given kind.
func checkKind(t *testing.T, path string, kind wire.Kind) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := wire.Peek(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if h.Kind != kind {
		t.Errorf("%s is a %s, want a %s", path, h.Kind, kind)
	}
}

// plaintextLabels returns the argmax of the plaintext reference on the first n MNIST
// test images.
func plaintextLabels(t *testing.T, n int) []int {
	t.Helper()
	m, err := model.Load(testEnv.model)
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := reference(m, set.First(n).Records)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, n)
	for i, l := range logits {
		labels[i] = model.Argmax(l)
	}
	return labels
}

// checkInspect describes every file of the exchange.
func checkInspect(t *testing.T, dir string) {
	f := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct{ file, what string }{
		{f("manifest.bin"), "manifest"},
		{f("evk.bin"), "evaluation keys"},
		{f("batch.bin"), "encrypted batch"},
		{f("result.bin"), "encrypted result"},
		{f("sk.bin"), "secret key"},
		{testEnv.model, "converted model"},
		{testEnv.onnx, "ONNX network"},
	} {
		v := okJSON(t, "inspect", tc.file)
		if what, _ := v["what"].(string); !strings.HasPrefix(what, tc.what) {
			t.Errorf("inspect %s: what = %q, want %q", tc.file, what, tc.what)
		}
		text := ok(t, "inspect", tc.file)
		if !strings.Contains(text, tc.what) {
			t.Errorf("inspect %s: %q", tc.file, text)
		}
		switch tc.what {
		case "secret key":
			for k := range v {
				if k != "file" && k != "bytes" && k != "what" && k != "envelope" && k != "note" {
					t.Errorf("inspect of a secret key shows %q", k)
				}
			}
		case "encrypted batch":
			ct := v["ciphertexts"].(map[string]any)
			if ct["images"] != float64(flowImages) || ct["count"] != float64(784) || ct["length_valid"] != true {
				t.Errorf("inspect batch: %v", ct)
			}
		case "manifest":
			m := v["manifest"].(map[string]any)
			if m["params"] != "InsecureN11QP215" || m["images_per_batch"] != float64(2048-16) || m["check_inputs"] != float64(64) {
				t.Errorf("inspect manifest: %v", m)
			}
		case "converted model":
			m := v["model"].(map[string]any)
			if m["squares"] != float64(2) || len(m["layers"].([]any)) != 5 {
				t.Errorf("inspect model: %v", m)
			}
		}
	}
}

// checkErrors feeds the CLI damaged, mismatched and missing files.
func checkErrors(t *testing.T, dir string) {
	f := func(name string) string { return filepath.Join(dir, name) }
	predict := func(evk, in string, extra ...string) result {
		args := []string{"predict", "--model", testEnv.model, "--eval-keys", evk, "--in", in, "-o", f("out.bin"), "--insecure"}
		return cn(t, append(args, extra...)...)
	}

	t.Run("truncated batch", func(t *testing.T) {
		data, err := os.ReadFile(f("batch.bin"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{len(data) - 1000, 100, 10} {
			path := f("truncated.bin")
			if err := os.WriteFile(path, data[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			fails(t, predict(f("evk.bin"), path), "truncated")
			want := "truncated"
			if n == 10 {
				want = "too short"
			}
			fails(t, cn(t, "inspect", path), want)
		}
	})

	t.Run("batch for another model", func(t *testing.T) {
		// Another model owner's network: the same one with one bias changed.
		m, err := model.Load(testEnv.model)
		if err != nil {
			t.Fatal(err)
		}
		m.Layers[len(m.Layers)-1].(*model.Dense).Bias[0] += 0.5
		other := f("other.cnm")
		if err := m.Save(other); err != nil {
			t.Fatal(err)
		}
		ok(t, append([]string{"manifest", other, "-o", f("other-manifest.bin")}, insecure...)...)
		ok(t, "keygen", "--insecure", "--manifest", f("other-manifest.bin"), "--secret-key", f("other-sk.bin"), "--eval-keys", f("other-evk.bin"))
		ok(t, "encrypt", "--insecure", "--manifest", f("other-manifest.bin"), "--secret-key", f("other-sk.bin"), "--images", "2", "-o", f("other-batch.bin"))
		fails(t, predict(f("other-evk.bin"), f("other-batch.bin")), "does not compile to the manifest's plan")
		fails(t, predict(f("evk.bin"), f("other-batch.bin")), "made for another model plan")
	})

	t.Run("batch for other parameters", func(t *testing.T) {
		// The server compiles the plan of the keys: the 128-bit one; the batch is N11.
		ok(t, "manifest", testEnv.model, "-o", f("n13-manifest.bin"))
		ok(t, "keygen", "--manifest", f("n13-manifest.bin"), "--secret-key", f("n13-sk.bin"), "--eval-keys", f("n13-evk.bin"))
		server := func(evk string) result {
			return cn(t, "predict", "--model", testEnv.model, "--eval-keys", evk, "--in", f("batch.bin"), "-o", f("out.bin"))
		}
		fails(t, server(f("n13-evk.bin")), "encrypted batch made for other CKKS parameters")
		fails(t, server(f("evk.bin")), "NOT secure")
	})

	t.Run("insecure manifest without --insecure", func(t *testing.T) {
		fails(t, cn(t, "keygen", "--manifest", f("manifest.bin"), "--secret-key", f("x.bin"), "--eval-keys", f("y.bin")),
			"insecure parameters")
	})

	t.Run("wrong kinds", func(t *testing.T) {
		fails(t, predict(f("sk.bin"), f("batch.bin")), "expected evaluation keys, got secret key")
		fails(t, predict(f("evk.bin"), f("result.bin")), "expected an encrypted batch or a sequence of them, got encrypted result")
		fails(t, cn(t, "decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--request", f("batch.bin"), "--in", f("batch.bin")),
			"expected an encrypted result or a sequence of them, got encrypted batch")
		fails(t, cn(t, "keygen", "--insecure", "--manifest", f("evk.bin"), "--secret-key", f("x.bin"), "--eval-keys", f("y.bin")),
			"expected manifest, got evaluation keys")
	})

	t.Run("another client's secret key", func(t *testing.T) {
		ok(t, "keygen", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk2.bin"), "--eval-keys", f("evk2.bin"))
		fails(t, cn(t, "decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk2.bin"), "--request", f("batch.bin"), "--in", f("result.bin")),
			"or the request is not this client's")
	})

	t.Run("missing file", func(t *testing.T) {
		fails(t, cn(t, "decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--request", f("batch.bin"), "--in", f("nope.bin")),
			"no such file or directory")
		fails(t, predict(f("evk.bin"), f("nope.bin")), "no such file or directory")
		fails(t, cn(t, "inspect", f("nope.bin")), "no such file or directory")
	})

	t.Run("bad arguments", func(t *testing.T) {
		fails(t, cn(t, "encrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--images", "10", "--offset", "9995", "-o", f("x.bin")),
			"the input has records 0 to 9999")
		fails(t, cn(t, "encrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "-o", f("x.bin")),
			"give the records with --in, or --images N")
		fails(t, cn(t, "manifest", testEnv.model, "-o", f("x.bin"), "--params", "InsecureN11QP215"), "add --insecure")
		fails(t, cn(t, "inspect", f("inputs.json")), "not a cryptonets file")
	})
}

// TestClientServerSingle runs the same separate-process flow under single-image
// packing (insecure test parameters): one image per request, evaluation keys that hold
// the relinearization and Galois keys the manifest lists.
func TestClientServerSingle(t *testing.T) {
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	single := []string{"--packing", "single", "--params", "InsecureN12QP215S", "--insecure"}
	ok(t, append([]string{"manifest", testEnv.model, "-o", f("manifest.bin")}, single...)...)
	keys := okJSON(t, "keygen", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--eval-keys", f("evk.bin"))
	if b, _ := keys["eval_key_bytes"].(float64); b < 1e6 {
		t.Errorf("single-image evaluation keys are %v bytes: the Galois keys are missing", keys["eval_key_bytes"])
	}
	want := plaintextLabels(t, 3)
	for i := range 3 {
		in, out := f("request.bin"), f("result.bin")
		ok(t, "encrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"),
			"--images", "1", "--offset", strconv.Itoa(i), "-o", in)
		ok(t, "predict", "--model", testEnv.model, "--eval-keys", f("evk.bin"), "--in", in, "-o", out, "--insecure")
		dec := okJSON(t, "decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--request", in, "--in", out)
		labels, _ := dec["labels"].([]any)
		if len(labels) != 1 || labels[0] != float64(want[i]) {
			t.Errorf("image %d: encrypted label %v, plaintext %d", i, dec["labels"], want[i])
		}
	}
	// Three images take three single-image requests, in one upload and one download.
	enc := okJSON(t, "encrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"),
		"--images", "3", "-o", f("three.bin"))
	if enc["requests"] != 3.0 {
		t.Errorf("3 images in %v requests", enc["requests"])
	}
	insp := okJSON(t, "inspect", f("three.bin"))
	if seq, _ := insp["sequence"].(map[string]any); insp["what"] != "encrypted batch sequence" || seq["requests"] != 3.0 || seq["images"] != 3.0 ||
		len(seq["request_bytes"].([]any)) != 3 {
		t.Errorf("inspect of a 3-request upload: %v", insp)
	}
	three, err := os.ReadFile(f("three.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f("three-cut.bin"), three[:len(three)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, cn(t, "inspect", f("three-cut.bin")), "request 3 of 3 is truncated")
	ok(t, "predict", "--model", testEnv.model, "--eval-keys", f("evk.bin"), "--in", f("three.bin"), "-o", f("three-result.bin"), "--insecure")
	dec := okJSON(t, "decrypt", "--insecure", "--manifest", f("manifest.bin"), "--secret-key", f("sk.bin"), "--request", f("three.bin"), "--in", f("three-result.bin"))
	if got := fmt.Sprint(dec["labels"]); got != fmt.Sprint(want) {
		t.Errorf("three images in one upload: labels %s, plaintext %v", got, want)
	}
	// The server takes the packing from the keys, never from a flag; a flag it no
	// longer has is an error.
	fails(t, cn(t, append([]string{"predict", "--model", testEnv.model, "--eval-keys", f("evk.bin"),
		"--in", f("request.bin"), "-o", f("x.bin")}, single...)...), "flag provided but not defined")
}
