// Command mnistdump writes the fixtures the C examples and tests read, so that the C
// code needs neither zlib nor an IDX parser:
//
//	mnistdump -n 64 -o DIR [-model FILE.cnm] [-onnx FILE.onnx]
//
// It writes, in DIR:
//   - images.f64: n×784 float64 pixels in [0, 1], little-endian, image after image;
//   - labels.txt: the n true labels, one per line;
//   - reference.txt (with -model): the plaintext reference prediction (argmax of
//     model.Reference on the converted model) of each image, one per line.
//
// With -onnx, the model file named by -model is first made from the ONNX file
// (import + CryptoNets rewrites), as `cryptonets convert` does, when it is missing or
// older than the ONNX file.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

func main() {
	n := flag.Int("n", 64, "number of test images")
	dir := flag.String("o", ".", "output folder")
	modelPath := flag.String("model", "", "converted model (.cnm) for the reference labels")
	onnxPath := flag.String("onnx", "", "ONNX model to convert into -model when it is missing or stale")
	flag.Parse()
	if err := run(*n, *dir, *modelPath, *onnxPath); err != nil {
		fmt.Fprintln(os.Stderr, "mnistdump:", err)
		os.Exit(1)
	}
}

func run(n int, dir, modelPath, onnxPath string) error {
	if n < 1 {
		return fmt.Errorf("-n must be positive")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if onnxPath != "" {
		if modelPath == "" {
			return fmt.Errorf("-onnx needs -model")
		}
		if err := convert(onnxPath, modelPath); err != nil {
			return err
		}
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		return err
	}
	set = set.First(n)
	if len(set.Records) != n {
		return fmt.Errorf("only %d test images", len(set.Records))
	}
	raw := make([]byte, 0, n*len(set.Records[0])*8)
	for _, img := range set.Records {
		for _, v := range img {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	}
	if err := writeFile(filepath.Join(dir, "images.f64"), raw); err != nil {
		return err
	}
	if err := writeLabels(filepath.Join(dir, "labels.txt"), set.Labels); err != nil {
		return err
	}
	if modelPath == "" {
		return nil
	}
	m, err := model.Load(modelPath)
	if err != nil {
		return err
	}
	ref, err := model.NewReference(m)
	if err != nil {
		return err
	}
	pred := make([]int, n)
	for i, img := range set.Records {
		logits, err := ref.Forward(img)
		if err != nil {
			return err
		}
		pred[i] = model.Argmax(logits)
	}
	return writeLabels(filepath.Join(dir, "reference.txt"), pred)
}

// convert makes the model file from the ONNX file unless it is already up to date.
func convert(onnxPath, modelPath string) error {
	src, err := os.Stat(onnxPath)
	if err != nil {
		return err
	}
	if dst, err := os.Stat(modelPath); err == nil && !dst.ModTime().Before(src.ModTime()) {
		return nil
	}
	imported, err := onnx.ImportFile(onnxPath)
	if err != nil {
		return err
	}
	converted, err := rewrite.Convert(imported)
	if err != nil {
		return err
	}
	data, err := converted.MarshalBinary()
	if err != nil {
		return err
	}
	return writeFile(modelPath, data)
}

func writeLabels(path string, labels []int) error {
	var b strings.Builder
	for _, l := range labels {
		fmt.Fprintln(&b, l)
	}
	return writeFile(path, []byte(b.String()))
}

// writeFile writes atomically, so that a build step interrupted half-way leaves no
// truncated fixture behind.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
