package main

import (
	"path/filepath"
	"testing"
)

// demoKeys are the keys demo --json must print.
var demoKeys = []string{"images", "packing", "params", "log_n", "log_qp", "security_bits", "accuracy",
	"plaintext_accuracy", "agreement", "max_abs_error", "seconds", "images_per_second",
	"upload_bytes", "download_bytes", "latency_seconds", "evaluate_seconds", "eval_key_bytes", "peak_rss_bytes", "precision_bits"}

// checkDemo checks the keys and the encrypted-versus-plaintext agreement of a demo report.
func checkDemo(t *testing.T, v map[string]any, images int) {
	t.Helper()
	for _, k := range demoKeys {
		if _, ok := v[k]; !ok {
			t.Errorf("demo --json has no %q", k)
		}
	}
	secs, _ := v["seconds"].(map[string]any)
	for _, k := range []string{"keygen", "encrypt", "evaluate", "decrypt"} {
		if s, ok := secs[k].(float64); !ok || s < 0 {
			t.Errorf("seconds.%s = %v", k, secs[k])
		}
	}
	if v["images"] != float64(images) || v["packing"] != "batch" {
		t.Errorf("images %v, packing %v", v["images"], v["packing"])
	}
	if v["agreement"] != 1.0 {
		t.Errorf("argmax agreement %v, want 1 (%v disagreements)", v["agreement"], v["disagreements"])
	}
	if v["accuracy"] != v["plaintext_accuracy"] {
		t.Errorf("encrypted accuracy %v, plaintext %v", v["accuracy"], v["plaintext_accuracy"])
	}
	if e, _ := v["max_abs_error"].(float64); !(e >= 0 && e < 0.1) {
		t.Errorf("max |encrypted - plaintext| = %v", v["max_abs_error"])
	}
	for _, k := range []string{"images_per_second", "upload_bytes", "download_bytes", "latency_seconds", "evaluate_seconds", "eval_key_bytes", "peak_rss_bytes", "precision_bits"} {
		if x, _ := v[k].(float64); !(x > 0) {
			t.Errorf("%s = %v, want > 0", k, v[k])
		}
	}
}

func TestDemoInsecureJSON(t *testing.T) {
	v := okJSON(t, append([]string{"demo", "--model", testEnv.model, "--images", "300", "-q"}, insecure...)...)
	checkDemo(t, v, 300)
	if v["params"] != "InsecureN11QP215" || v["log_n"] != 11.0 || v["security_bits"] != 0.0 || v["insecure"] != true {
		t.Errorf("params %v, log N %v, security %v, insecure %v", v["params"], v["log_n"], v["security_bits"], v["insecure"])
	}
}

// TestDemoDefaultParams runs 512 real MNIST test images at the default 128-bit
// parameters through the demo path.
func TestDemoDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("a full N=8192 batch: skipped with -short")
	}
	v := okJSON(t, "demo", "--model", testEnv.model, "--images", "512", "-q")
	checkDemo(t, v, 512)
	if v["params"] != "N13QP215" || v["security_bits"] != 128.0 || v["log_n"] != 13.0 {
		t.Errorf("params %v, security %v bits, log N %v", v["params"], v["security_bits"], v["log_n"])
	}
	if acc, _ := v["accuracy"].(float64); acc < 0.99 {
		t.Errorf("encrypted accuracy %v < 0.99", acc)
	}
}

func TestBench(t *testing.T) {
	v := okJSON(t, append([]string{"bench", "--model", testEnv.model, "--images", "100", "-q"}, insecure...)...)
	for _, k := range []string{"seconds", "images_per_second", "latency_seconds", "evaluate_seconds", "upload_bytes", "download_bytes", "eval_key_bytes", "peak_rss_bytes"} {
		if _, ok := v[k]; !ok {
			t.Errorf("bench --json has no %q", k)
		}
	}
	if v["images"] != 100.0 || v["batches"] != 1.0 {
		t.Errorf("bench: %v images in %v batches", v["images"], v["batches"])
	}
}

func TestConvert(t *testing.T) {
	out := t.TempDir() + "/m.cnm"
	v := okJSON(t, "convert", testEnv.onnx, "-o", out, "--test-images", "500")
	before, after := v["before"].(map[string]any), v["after"].(map[string]any)
	if n := len(before["layers"].([]any)); n != 8 {
		t.Errorf("before: %d layers, want 8", n)
	}
	if n := len(after["layers"].([]any)); n != 5 {
		t.Errorf("after: %d layers, want 5", n)
	}
	if before["has_softmax"] != true || after["has_softmax"] != false || after["squares"] != 2.0 || after["multiplicative_depth"] != 2.0 {
		t.Errorf("before %v, after %v", before, after)
	}
	acc := v["accuracy"].(map[string]any)
	if acc["before"] != acc["after"] || acc["agreement"] != 1.0 || acc["after"].(float64) < 0.98 {
		t.Errorf("accuracy: %v", acc)
	}
	fails(t, cn(t, "convert", testEnv.model, "-o", out+"2"), "onnx")
}

// TestBenchSingle checks the keys bench --packing single --json reports (issue 7);
// the plan is compiled for the 2 images bench has, so they make one request.
func TestBenchSingle(t *testing.T) {
	v := okJSON(t, "bench", "--model", testEnv.model, "--packing", "single", "--params", "InsecureN12QP215S", "--insecure", "--images", "2", "-q")
	for _, k := range []string{"latency_seconds", "evaluate_seconds", "encrypt_seconds", "decrypt_seconds", "upload_bytes", "download_bytes", "eval_key_bytes"} {
		if x, _ := v[k].(float64); !(x > 0) {
			t.Errorf("bench --packing single: %s = %v, want > 0", k, v[k])
		}
	}
	if v["packing"] != "single" || v["images"] != 2.0 || v["batches"] != 1.0 {
		t.Errorf("bench --packing single: packing %v, %v images in %v requests", v["packing"], v["images"], v["batches"])
	}
}

// TestBenchSweep measures a tiny sweep and checks its rows.
func TestBenchSweep(t *testing.T) {
	v := okJSON(t, "bench", "--model", testEnv.model, "--params", "InsecureN12QP215S", "--insecure", "--sweep", "1,2", "--packings", "single,auto", "-q")
	rows, _ := v["rows"].([]any)
	if len(rows) != 4 {
		t.Fatalf("sweep: %d rows, want 4", len(rows))
	}
	for _, r := range rows {
		row := r.(map[string]any)
		if row["agreement"] != 1.0 || !(row["total_seconds"].(float64) > 0) || !(row["predicted_seconds"].(float64) > 0) {
			t.Errorf("sweep row %v", row)
		}
	}
}

// TestDemoOwnTable converts the shipped fine-tuned breast-cancer network on its
// labelled training CSV (per-channel input ranges from the data, widened by
// --margin) and runs demo on the test CSV: the encrypted labels are the converted
// model's, whose accuracy is the original's. Without --in, demo refuses the model.
func TestDemoOwnTable(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "breast_cancer")
	out := filepath.Join(t.TempDir(), "bc.cnm")
	test := filepath.Join(dir, "test.csv")
	v := okJSON(t, "convert", filepath.Join(dir, "breast_cancer_he.onnx"), "-o", out,
		"--calibration-file", filepath.Join(dir, "train.csv"), "--calibration-label-column", "label", "--margin", "50",
		"--test-data", test, "--test-label-column", "label")
	acc := v["accuracy"].(map[string]any)
	if acc["images"] != 171.0 || acc["before"] != acc["after"] || acc["agreement"] != 1.0 {
		t.Errorf("convert accuracy %v", acc)
	}
	d := okJSON(t, append([]string{"demo", "--model", out, "--in", test, "--label-column", "label", "-q"}, insecure...)...)
	if d["images"] != 171.0 || d["agreement"] != 1.0 || d["accuracy"] != acc["after"] || d["plaintext_accuracy"] != acc["after"] {
		t.Errorf("demo: %v records, agreement %v, accuracy %v (plaintext %v), want %v", d["images"], d["agreement"], d["accuracy"], d["plaintext_accuracy"], acc["after"])
	}
	fails(t, cn(t, append([]string{"demo", "--model", out, "-q"}, insecure...)...), "give your records with --in")
}
