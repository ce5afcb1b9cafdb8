// Package arch holds the test that keeps the library's layering: which package of
// the module may import which (docs/architecture.md draws the same picture).
package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/cryptonets/cryptonets/"

// allowed lists, for each package of core, the packages of the module its non-test
// files may import (subpackages of core/internal as "core/internal/*").
var allowed = map[string][]string{
	"core/errs":             {},
	"core/version":          {},
	"core/internal/cbor":    {"core/errs"},
	"core/internal/seeded":  {},
	"core/internal/workers": {"core/errs"},
	"core/internal/hostile": {},
	"core/params":           {"core/errs"},
	"core/model":            {"core/errs", "core/internal/*"},
	"core/dataset":          {"core/errs", "core/model"},
	"core/onnx":             {"core/errs", "core/model", "core/onnx/onnxpb"},
	"core/onnx/onnxpb":      {},
	"core/rewrite":          {"core/errs", "core/model", "core/internal/*"},
	"core/manifest":         {"core/errs", "core/model", "core/params", "core/internal/*"},
	"core/packing":          {"core/errs", "core/manifest", "core/model", "core/params", "core/internal/*"},
	"core/packing/batch":    {"core/errs", "core/manifest", "core/model", "core/params", "core/packing", "core/internal/*"},
	"core/packing/single":   {"core/errs", "core/manifest", "core/model", "core/params", "core/packing", "core/internal/*"},
	"core/wire":             {"core/errs", "core/manifest", "core/params", "core/internal/*"},
	"core/compile":          {"core/errs", "core/manifest", "core/model", "core/params", "core/packing", "core/packing/batch", "core/packing/single"},
	"core/client":           {"core/errs", "core/compile", "core/manifest", "core/packing", "core/params", "core/wire"},
	"core/server":           {"core/errs", "core/manifest", "core/packing", "core/wire"},
	"core/internal/arch":    {},
}

// packingPackages are the packings; only compile and the packings name them.
var packingPackages = []string{"core/packing/batch", "core/packing/single"}

// mayNamePackings are the packages that may import a packing.
var mayNamePackings = []string{"core/compile", "core/packing/batch", "core/packing/single"}

func TestLayering(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	imports := moduleImports(t, root)
	for pkg, deps := range imports {
		if strings.HasPrefix(pkg, "core/") {
			rules, ok := allowed[pkg]
			if !ok {
				t.Errorf("%s is not in the layering table (core/internal/arch): add it, and to docs/architecture.md", pkg)
				continue
			}
			for _, d := range deps {
				if !permitted(rules, d) {
					t.Errorf("%s imports %s, which the layering does not allow", pkg, d)
				}
			}
		}
		for _, d := range deps {
			if slices.Contains(packingPackages, d) && !slices.Contains(mayNamePackings, pkg) {
				t.Errorf("%s imports the packing %s: only compile chooses packings (use compile.Lookup or packing.Plan)", pkg, d)
			}
		}
	}
}

func permitted(rules []string, dep string) bool {
	for _, r := range rules {
		if r == dep || (strings.HasSuffix(r, "/*") && strings.HasPrefix(dep, strings.TrimSuffix(r, "*"))) {
			return true
		}
	}
	return false
}

// moduleImports maps every package directory of the module (relative, slash-
// separated) to the module packages its non-test Go files import.
func moduleImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "build" || name == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && !slices.Contains(out[pkg], dep) {
				out[pkg] = append(out[pkg], dep)
			}
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found %d packages under %s: is the module root right?", len(out), root)
	}
	return out
}
