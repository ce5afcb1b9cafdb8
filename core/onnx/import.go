// Package onnx imports a neural network stored in the ONNX format into the layer graph
// of package model, unconverted: the CryptoNets rewrites (package rewrite) come after.
//
// The graph must be a single chain of operators from one input ([N, C, H, W] images,
// [N, C, L] signals or [N, features] records; N may be symbolic) to one output: each node reads the
// output of the previous one, plus constants (initializers or Constant nodes). The
// exceptions are the groups of nodes that exporters write for one activation function
// (GELU, SiLU), which are recognized as a whole. Tensors are NCHW and flattening is
// channel-major, exactly as model.Shape.Index, so weights are copied as they are. The
// operators become layers as follows:
//
//   - Conv (2-D on images, 1-D on signals; group 1, any stride and dilation,
//     explicit pads) → Conv2D (a 1-D kernel k is 1×k); bias optional
//   - Gemm (transA 0, transB 0 or 1, alpha, beta, C optional) → Dense
//   - MatMul by a constant matrix → Dense with a zero bias
//   - Add of a constant right after Conv, Gemm or MatMul → folded into its bias
//   - Add, Sub, Mul or Div by a constant per channel (or feature, or a scalar) →
//     ChannelAffine, consecutive ones composed (input normalization, scalings)
//   - BatchNormalization (inference mode) → ChannelAffine, per channel or per feature
//   - Mul(x, x) and Pow(x, 2) → Square; a polynomial of x of degree 2 or more written
//     with Add, Sub, Mul, Div by constants, Neg and Pow (a trained polynomial
//     activation) → Polynomial
//   - Relu, Sigmoid, Tanh, Gelu (opset 20, exact form) → NamedActivation; so do the
//     groups x·(1 + erf(x/√2))·0.5 (GELU, as PyTorch < 2.1 exports nn.GELU) and
//     x·sigmoid(x) (SiLU), whose constants must match within 1e-6 (they are float32)
//   - AveragePool (1-D or 2-D; ceil_mode 0; count_include_pad 1, or no pads) →
//     SumPool with Scale 1/(kh·kw); GlobalAveragePool → SumPool over the whole input
//   - MaxPool (1-D or 2-D; ceil_mode 0, dilation 1, no Indices output) → MaxPool
//   - Pad (zero, spatial only, as inputs or as attributes) → folded into the padding of
//     the Conv or AveragePool that follows
//   - Flatten (axis 1) and Reshape to [N, -1] or [N, features] (also computed by
//     PyTorch's Shape → Gather → Unsqueeze → Concat pattern) → Flatten; Reshape to
//     [N, C, L] or [N, C, H, W], Unsqueeze and Squeeze of axes after the batch axis →
//     Reshape (values stay in channel-major order)
//   - Softmax and LogSoftmax over all the values of an image → Softmax, LogSoftmax
//   - Identity and Dropout → dropped (Identity of a constant is the same constant)
//
// Anything else is an *UnsupportedError naming the operator, the node and what to do.
// The imported model's InputRange is [0, 1] (pixels scaled to [0, 1]); set it on the
// result when the network expects another range. A normalization of the input
// (Sub/Div/Mul/Add by per-channel constants, or a BatchNormalization, as the first
// layer) is also recorded as the model's Preprocessing.
package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// MaxFileSize bounds the size of an ONNX model that Import and ImportFile accept.
const MaxFileSize = 1 << 30

// Import decodes an ONNX model and translates its graph into layers.
func Import(data []byte) (*model.Model, error) {
	if len(data) > MaxFileSize {
		return nil, errs.New(errs.ErrLimit, "onnx: model is larger than %d bytes", MaxFileSize)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, errs.New(errs.ErrMalformed, "onnx: cannot decode the model (not an ONNX file, or truncated): %w", err)
	}
	g := mp.GetGraph()
	if g == nil || len(g.GetNode()) == 0 {
		return nil, errs.New(errs.ErrMalformed, "onnx: not an ONNX model, or an empty one (no graph nodes)")
	}
	opset, err := defaultOpset(&mp)
	if err != nil {
		return nil, err
	}
	m, err := translate(g, opset)
	if err != nil {
		return nil, err
	}
	m.Name = g.GetName()
	if m.Name == "" {
		m.Name = "onnx-model"
	}
	sum := sha256.Sum256(data)
	m.Provenance = model.Provenance{
		Source:       "onnx",
		SourceSHA256: hex.EncodeToString(sum[:]),
		Notes: fmt.Sprintf("ONNX IR version %d, opset %d, producer %q version %q",
			mp.GetIrVersion(), opset, mp.GetProducerName(), mp.GetProducerVersion()),
	}
	return m, nil
}

// ImportFile reads and imports an ONNX file (size-limited). The model is named after
// the file (without its extension), since exporters usually give the graph a generic
// name.
func ImportFile(path string) (*model.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "onnx: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, errs.New(errs.ErrIO, "onnx: %w", err)
	}
	m, err := Import(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	base := filepath.Base(path)
	m.Name = strings.TrimSuffix(base, filepath.Ext(base))
	return m, nil
}

// defaultOpset returns the version of the default (ai.onnx) operator set.
func defaultOpset(mp *onnxpb.ModelProto) (int64, error) {
	for _, o := range mp.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			return o.GetVersion(), nil
		}
	}
	return 0, errs.New(errs.ErrMalformed, "onnx: the model imports no version of the default operator set (ai.onnx)")
}

// translate walks the graph's nodes and returns the model without name or provenance.
func translate(g *onnxpb.GraphProto, opset int64) (*model.Model, error) {
	if len(g.GetSparseInitializer()) > 0 {
		return nil, errs.New(errs.ErrUnsupported, "onnx: sparse initializers are not supported; export dense weights")
	}
	b := newBuilder(opset)
	for _, t := range g.GetInitializer() {
		b.consts[t.GetName()] = t
	}
	in, err := b.graphInput(g)
	if err != nil {
		return nil, err
	}
	nodes := make([]*node, len(g.GetNode()))
	for i, p := range g.GetNode() {
		if nodes[i], err = newNode(p, i); err != nil {
			return nil, err
		}
	}
	b.index(nodes, g)
	for _, n := range nodes {
		if b.grouped[n] {
			continue // translated with the group of nodes it belongs to
		}
		if err := b.node(n); err != nil {
			return nil, err
		}
	}
	if err := b.finish(g); err != nil {
		return nil, err
	}
	m := &model.Model{Input: in, InputRange: [2]float64{0, 1}, Layers: b.layers, Preprocessing: preprocessing(b.layers)}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: the imported layers are invalid: %w", err)
	}
	return m, nil
}

// preprocessing returns the normalization (x − mean)/std that a ChannelAffine applies
// to the graph input (Sub, Div, Mul, Add nodes or a BatchNormalization on it), nil if
// the first layer is something else.
func preprocessing(layers []model.Layer) *model.Normalization {
	a, ok := layers[0].(*model.ChannelAffine)
	if !ok {
		return nil
	}
	n := &model.Normalization{Mean: make([]float64, len(a.Scale)), Std: make([]float64, len(a.Scale))}
	for c, s := range a.Scale {
		if s == 0 {
			return nil
		}
		n.Mean[c], n.Std[c] = -a.Shift[c]/s, 1/s
	}
	return n
}

// graphInput finds the one graph input that is not an initializer and records it as
// the start of the chain.
func (b *builder) graphInput(g *onnxpb.GraphProto) (model.Shape, error) {
	var real []*onnxpb.ValueInfoProto
	for _, vi := range g.GetInput() {
		if _, ok := b.consts[vi.GetName()]; !ok {
			real = append(real, vi)
		}
	}
	if len(real) != 1 {
		names := make([]string, len(real))
		for i, vi := range real {
			names[i] = fmt.Sprintf("%q", vi.GetName())
		}
		return model.Shape{}, errs.New(errs.ErrUnsupported, "onnx: the graph has %d inputs [%s]; want exactly one (the image)",
			len(real), strings.Join(names, ", "))
	}
	vi := real[0]
	act, batch, err := inputShape(vi)
	if err != nil {
		return model.Shape{}, err
	}
	b.batch = batch
	b.start(vi.GetName(), act)
	return act.shape, nil
}

// inputShape reads the shape [N, C, H, W], [N, C, L] or [N, features] of a graph
// input; batch is N when it is fixed, 0 when it is symbolic.
func inputShape(vi *onnxpb.ValueInfoProto) (act activation, batch int64, err error) {
	name := vi.GetName()
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q is not a tensor", name)
	}
	switch onnxpb.TensorProto_DataType(tt.GetElemType()) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
	default:
		return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q has element type %v; want a floating-point tensor",
			name, onnxpb.TensorProto_DataType(tt.GetElemType()))
	}
	if tt.GetShape() == nil {
		return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q has no shape; export with a fixed input shape", name)
	}
	dims := tt.GetShape().GetDim()
	if len(dims) < 2 || len(dims) > 4 {
		return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q has %d dimensions; want [N, C, H, W] (images), [N, C, L] (signals) or [N, features] (records)",
			name, len(dims))
	}
	batch = dims[0].GetDimValue()
	if batch < 0 {
		return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q has a negative batch dimension %d", name, batch)
	}
	sizes := make([]int64, len(dims)-1)
	for i, d := range dims[1:] {
		v := d.GetDimValue()
		if _, fixed := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); !fixed || v <= 0 {
			return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q: dimension %d is dynamic (%q); export with a fixed input size and channel count",
				name, i+1, d.GetDimParam())
		}
		if v > 1<<24 {
			return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q: dimension %d is %d, too large", name, i+1, v)
		}
		sizes[i] = v
	}
	act, ok := shapeOf(sizes)
	if !ok {
		return act, 0, errs.New(errs.ErrUnsupported, "onnx: input %q has shape %v: too large", name, sizes)
	}
	return act, batch, nil
}
