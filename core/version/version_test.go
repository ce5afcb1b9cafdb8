package version

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestVersionIsTheHeaders checks Version against include/cryptonets.h, the single
// source of the version.
func TestVersionIsTheHeaders(t *testing.T) {
	header, err := os.ReadFile(filepath.Join("..", "..", "include", "cryptonets.h"))
	if err != nil {
		t.Fatal(err)
	}
	define := func(name, value string) string {
		m := regexp.MustCompile(`(?m)^#define ` + name + ` (` + value + `)$`).FindSubmatch(header)
		if m == nil {
			t.Fatalf("include/cryptonets.h: no #define %s %s", name, value)
		}
		return string(m[1])
	}
	numbers := define("CN_VERSION_MAJOR", `\d+`) + "." + define("CN_VERSION_MINOR", `\d+`) +
		"." + define("CN_VERSION_PATCH", `\d+`)
	if numbers != Version {
		t.Errorf("include/cryptonets.h says %s, version.Version is %s", numbers, Version)
	}
	if s := define("CN_VERSION", `"[^"]*"`); s != `"`+Version+`"` {
		t.Errorf("include/cryptonets.h: CN_VERSION is %s, version.Version is %s", s, Version)
	}
}
