package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// layerInfo describes one layer of a model.
type layerInfo struct {
	Index       int    `json:"index"`
	Kind        string `json:"kind"`
	Output      string `json:"output"`
	OutputShape [3]int `json:"output_shape"`
	Parameters  int    `json:"parameters"`
	Detail      string `json:"detail,omitempty"`
}

// modelInfo describes a model: its input, layers, size and multiplicative depth.
type modelInfo struct {
	Name       string      `json:"name"`
	Input      string      `json:"input"`
	InputShape [3]int      `json:"input_shape"`
	InputRange [2]float64  `json:"input_range"`
	Layers     []layerInfo `json:"layers"`
	Parameters int         `json:"parameters"`
	// Squares counts the x² activations; Depth is the multiplicative depth of all
	// activations (their Depth methods); Softmax is true
	// when the model has a softmax or log-softmax layer.
	Squares    int        `json:"squares"`
	Depth      int        `json:"multiplicative_depth"`
	Softmax    bool       `json:"has_softmax"`
	Provenance provenance `json:"provenance"`
}

// provenance is model.Provenance with JSON names.
type provenance struct {
	Source       string   `json:"source,omitempty"`
	SourceSHA256 string   `json:"source_sha256,omitempty"`
	Converter    string   `json:"converter,omitempty"`
	Rewrites     []string `json:"rewrites,omitempty"`
	Notes        string   `json:"notes,omitempty"`
}

// shape3 returns a shape as [C, H, W].
func shape3(s model.Shape) [3]int { return [3]int{s.C, s.H, s.W} }

// describe builds the description of m.
func describe(m *model.Model) (*modelInfo, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	p := m.Provenance
	info := &modelInfo{Name: m.Name, Input: m.Input.String(), InputShape: shape3(m.Input), InputRange: m.InputRange,
		Provenance: provenance{p.Source, p.SourceSHA256, p.Converter, p.Rewrites, p.Notes}}
	for i, l := range m.Layers {
		li := layerInfo{Index: i, Kind: string(l.Kind()), Output: shapes[i+1].String(), OutputShape: shape3(shapes[i+1])}
		li.Parameters, li.Detail = layerDetail(l, shapes[i])
		info.Parameters += li.Parameters
		switch l := l.(type) {
		case model.Square:
			info.Squares++
			info.Depth += l.Depth()
		case *model.Polynomial:
			info.Depth += l.Depth()
		case model.Softmax, model.LogSoftmax:
			info.Softmax = true
		}
		info.Layers = append(info.Layers, li)
	}
	return info, nil
}

// layerDetail returns a layer's parameter count and a short description of its fields.
func layerDetail(l model.Layer, in model.Shape) (int, string) {
	pad := func(p model.Padding) string {
		if p == (model.Padding{}) {
			return ""
		}
		return fmt.Sprintf(", pad %d,%d,%d,%d", p.Top, p.Left, p.Bottom, p.Right)
	}
	switch l := l.(type) {
	case *model.Conv2D:
		return len(l.Weights) + len(l.Bias), fmt.Sprintf("%d→%d channels, kernel %d×%d, stride %d×%d%s",
			l.InChannels, l.OutChannels, l.KernelH, l.KernelW, l.StrideH, l.StrideW, pad(l.Pad))
	case *model.Dense:
		return len(l.Weights) + len(l.Bias), fmt.Sprintf("%d→%d", l.In, l.Out)
	case *model.SumPool:
		return 0, fmt.Sprintf("window %d×%d, stride %d×%d%s, scale %.4g", l.KernelH, l.KernelW, l.StrideH, l.StrideW, pad(l.Pad), l.Scale)
	case *model.MaxPool:
		return 0, fmt.Sprintf("window %d×%d, stride %d×%d%s (convert makes it a scaled sum pool)", l.KernelH, l.KernelW, l.StrideH, l.StrideW, pad(l.Pad))
	case *model.ChannelAffine:
		return len(l.Scale) + len(l.Shift), fmt.Sprintf("scale and shift of %d channels, batch norm (convert folds it)", len(l.Scale))
	case model.NamedActivation:
		return 0, fmt.Sprintf("%s (convert fits a polynomial to it, or drops it if last)", l.Func)
	case *model.Polynomial:
		return len(l.Coeffs), describePolynomial(l)
	case model.Flatten:
		return 0, fmt.Sprintf("%v → vector", in)
	case model.Square:
		return 0, "x²"
	case model.Softmax:
		return 0, "probabilities (dropped by convert)"
	case model.LogSoftmax:
		return 0, "log-probabilities (dropped by convert)"
	}
	return 0, ""
}

// writeLayers prints the layer table of a model.
func writeLayers(w io.Writer, info *modelInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "    #\tkind\toutput\tparams\tdetail\n")
	fmt.Fprintf(tw, "    -\tinput\t%s\t\tvalues in [%g, %g]\n", info.Input, info.InputRange[0], info.InputRange[1])
	for _, l := range info.Layers {
		fmt.Fprintf(tw, "    %d\t%s\t%s\t%d\t%s\n", l.Index, l.Kind, l.Output, l.Parameters, l.Detail)
	}
	tw.Flush()
	fmt.Fprintf(w, "    %d parameters, %d squares, multiplicative depth %d\n", info.Parameters, info.Squares, info.Depth)
}

// loadConverted loads a converted model file. When it is missing, or is an ONNX
// file, the error says how to convert it.
func loadConverted(path string) (*model.Model, error) {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return nil, errs.New(errs.ErrInvalidArgument, "%s is an ONNX network; convert it first: run: cryptonets convert %s -o %s",
			path, path, strings.TrimSuffix(path, filepath.Ext(path))+".cnm")
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		src := strings.TrimSuffix(path, filepath.Ext(path)) + ".onnx"
		if _, err := os.Stat(src); err == nil {
			return nil, errs.New(errs.ErrInvalidArgument, "model %s not found; run: cryptonets convert %s -o %s", path, src, path)
		}
	}
	m, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	for i, l := range m.Layers {
		if l.Kind() == model.KindSoftmax {
			return nil, errs.New(errs.ErrInvalidArgument, "%s: layer %d is a softmax: the model is not converted; run: cryptonets convert on its ONNX source", path, i)
		}
	}
	return m, nil
}

// reference computes the plaintext logits of m for every image, using all cores.
func reference(m *model.Model, images [][]float64) ([][]float64, error) {
	ref, err := model.NewReference(m)
	if err != nil {
		return nil, err
	}
	return ref.ForwardAll(images)
}

// accuracy returns the fraction of logits whose argmax equals the label.
func accuracy(logits [][]float64, labels []int) float64 {
	if len(logits) == 0 {
		return math.NaN()
	}
	right := 0
	for i, l := range logits {
		if model.Argmax(l) == labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(logits))
}

// describePolynomial says what a polynomial activation is: fitted to a function
// over an interval, or trained (its coefficients from the model), with the interval
// its inputs are known to lie in once calibration has found it.
func describePolynomial(p *model.Polynomial) string {
	d := fmt.Sprintf("degree %d", p.Degree())
	if p.Interval != [2]float64{} {
		d += fmt.Sprintf(" on [%.4g, %.4g]", p.Interval[0], p.Interval[1])
	}
	if p.Fitted == "" {
		return d + ", trained"
	}
	return d + fmt.Sprintf(" fitting %s (max error %.2g)", p.Fitted, p.FitError)
}
