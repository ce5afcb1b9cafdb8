// Package hostile keeps the reproducers of past attacks on the library's decoders in
// models/fixtures/hostile, where the Go, C and Python tests all read them. The Go test
// that makes a reproducer checks that the file still holds exactly those bytes, or
// rewrites it with -update-hostile.
package hostile

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update-hostile", false, "rewrite the reproducers in models/fixtures/hostile")

// Dir returns models/fixtures/hostile of the repository the test runs in.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "models", "fixtures", "hostile")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("hostile: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Check fails the test unless models/fixtures/hostile/name holds data (with
// -update-hostile, it writes data there).
func Check(t testing.TB, name string, data []byte) {
	t.Helper()
	path := filepath.Join(Dir(t), name)
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (make it with -update-hostile)", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s differs from the reproducer the test makes (rewrite it with -update-hostile)", path)
	}
}
