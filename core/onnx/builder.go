package onnx

import (
	"fmt"
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
)

// activation is the per-image shape of a tensor of the chain and its rank after the
// batch dimension: 1 for [N, features] (shape F×1×1), 2 for signals [N, C, L]
// (shape C×1×L), 3 for images [N, C, H, W].
type activation struct {
	shape model.Shape
	rank  int
}

// The ranks of chain tensors.
const (
	rankFlat   = 1
	rankSignal = 2
	rankImage  = 3
)

// flat reports whether the tensor is [N, features].
func (a activation) flat() bool { return a.rank == rankFlat }

// dims returns the ONNX dimensions after the batch dimension.
func (a activation) dims() []int64 {
	switch a.rank {
	case rankFlat:
		return []int64{int64(a.shape.C)}
	case rankSignal:
		return []int64{int64(a.shape.C), int64(a.shape.W)}
	}
	return []int64{int64(a.shape.C), int64(a.shape.H), int64(a.shape.W)}
}

// shapeOf returns the activation of ONNX dimensions (after the batch dimension).
func shapeOf(dims []int64) (activation, bool) {
	for _, d := range dims {
		if d <= 0 || d > 1<<24 {
			return activation{}, false
		}
	}
	var a activation
	switch len(dims) {
	case 1:
		a = activation{shape: model.Shape{C: int(dims[0]), H: 1, W: 1}, rank: rankFlat}
	case 2:
		a = activation{shape: model.Shape{C: int(dims[0]), H: 1, W: int(dims[1])}, rank: rankSignal}
	case 3:
		a = activation{shape: model.Shape{C: int(dims[0]), H: int(dims[1]), W: int(dims[2])}, rank: rankImage}
	default:
		return activation{}, false
	}
	return a, a.shape.Valid()
}

// builder translates the nodes of a graph, in order, into layers. The layers form a
// single chain: each node that is not a constant or shape computation reads the
// output of the previous one (cur) and produces the next.
type builder struct {
	opset int64
	// batch is the fixed batch size of the graph input, or 0 when it is symbolic.
	batch int64
	// consts holds initializers and the outputs of Constant nodes.
	consts  map[string]*onnxpb.TensorProto
	decoded map[string]*tensor
	// shapes holds small integer vectors computed from tensor shapes (Shape, Gather,
	// Unsqueeze, Concat), as in PyTorch's x.view(x.size(0), -1).
	shapes map[string]intVec
	// chain holds the ONNX shape of every tensor of the chain.
	chain map[string]activation
	// cur is the output of the last chain node and curAct its shape as the next layer
	// sees it (before any pending Pad).
	cur    string
	curAct activation
	layers []model.Layer
	// pad is the padding of Pad nodes not yet folded into a Conv or AveragePool;
	// padNode names the last of them.
	pad     model.Padding
	padNode *node
	// consumers lists the nodes reading each tensor, producer the node writing it,
	// and outputs the graph outputs: the pattern matcher needs the whole graph.
	consumers map[string][]*node
	producer  map[string]*node
	outputs   map[string]bool
	// order lists the graph's nodes in graph order.
	order []*node
	// grouped marks the nodes already translated as part of a group (see group).
	grouped map[*node]bool
}

func newBuilder(opset int64) *builder {
	return &builder{opset: opset, consts: map[string]*onnxpb.TensorProto{}, decoded: map[string]*tensor{},
		shapes: map[string]intVec{}, chain: map[string]activation{}, grouped: map[*node]bool{}}
}

// index records, for the whole graph, which nodes read and write each tensor.
func (b *builder) index(nodes []*node, g *onnxpb.GraphProto) {
	b.consumers, b.producer, b.outputs = map[string][]*node{}, map[string]*node{}, map[string]bool{}
	b.order = nodes
	for _, n := range nodes {
		for _, in := range n.inputs {
			if in != "" && !slices.Contains(b.consumers[in], n) {
				b.consumers[in] = append(b.consumers[in], n)
			}
		}
		for _, out := range n.outputs {
			b.producer[out] = n
		}
	}
	for _, o := range g.GetOutput() {
		b.outputs[o.GetName()] = true
	}
}

// start makes the named graph input the head of the chain.
func (b *builder) start(name string, act activation) {
	b.cur, b.curAct = name, act
	b.chain[name] = act
}

// supportedOps lists the operators the importer translates, for error messages.
func supportedOps() []string {
	return []string{"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Pow", "BatchNormalization",
		"AveragePool", "GlobalAveragePool", "MaxPool", "Pad", "Flatten", "Reshape", "Unsqueeze", "Squeeze",
		"Relu", "Sigmoid", "Tanh", "Gelu", "Softmax", "LogSoftmax", "Identity", "Dropout",
		"Constant", "Shape", "Gather", "Unsqueeze", "Concat", "Cast"}
}

// handler returns the translation of a chain operator, nil for unknown operators.
func (b *builder) handler(op string) func(*node) error {
	switch op {
	case "Conv":
		return b.conv
	case "Gemm":
		return b.gemm
	case "MatMul":
		return b.matMul
	case "Add", "Sub", "Div":
		return b.affineOp
	case "Mul":
		return b.mul
	case "Unsqueeze", "Squeeze":
		return b.squeezeOp
	case "Pow":
		return b.pow
	case "AveragePool":
		return b.averagePool
	case "GlobalAveragePool":
		return b.globalAveragePool
	case "Pad":
		return b.padOp
	case "Flatten":
		return b.flatten
	case "Reshape":
		return b.reshape
	case "BatchNormalization":
		return b.batchNorm
	case "MaxPool":
		return b.maxPool
	case "Relu":
		return b.activation(model.KindReLU)
	case "Sigmoid":
		return b.activation(model.KindSigmoid)
	case "Tanh":
		return b.activation(model.KindTanh)
	case "Gelu":
		return b.gelu
	case "Softmax":
		return b.softmax(model.Softmax{})
	case "LogSoftmax":
		return b.softmax(model.LogSoftmax{})
	case "Identity", "Dropout":
		return b.passThrough
	}
	return nil
}

// node translates one node.
func (b *builder) node(n *node) error {
	if n.domain != "" && n.domain != "ai.onnx" {
		return unsupportedOp(n)
	}
	for _, in := range n.inputs {
		if in != "" && !b.known(in) {
			return errs.New(errs.ErrMalformed, "onnx: node %q (%s): input %q is not produced by an earlier node, an initializer or the graph input (is the graph topologically sorted?)",
				n.name, n.op, in)
		}
	}
	if n.op == "Constant" {
		return b.constant(n)
	}
	if n.op == "Shape" || (isShapeOp(n.op) && !b.readsChain(n)) {
		return b.shapeOp(n)
	}
	if n.op == "Identity" && !b.readsChain(n) {
		return b.alias(n)
	}
	if slices.Contains(n.inputs, b.cur) {
		if g, ok := b.group(b.cur); ok {
			if b.padNode != nil {
				return b.padError()
			}
			return b.emitGroup(g)
		}
	}
	h := b.handler(n.op)
	if h == nil {
		if isShapeOp(n.op) {
			return unsupportedUse(n, "", "on the activations is not supported (only on tensor shapes)")
		}
		return unsupportedOp(n)
	}
	if b.padNode != nil && !foldsPad(n.op) {
		return b.padError()
	}
	return h(n)
}

// known reports whether a tensor name has been defined.
func (b *builder) known(name string) bool {
	_, c := b.consts[name]
	_, s := b.shapes[name]
	_, a := b.chain[name]
	return c || s || a
}

// readsChain reports whether any input of n is a tensor of the chain.
func (b *builder) readsChain(n *node) bool {
	for _, in := range n.inputs {
		if _, ok := b.chain[in]; ok {
			return true
		}
	}
	return false
}

// foldsPad reports whether op may come between a Pad and the layer it is folded into.
func foldsPad(op string) bool {
	switch op {
	case "Pad", "Conv", "AveragePool", "Identity", "Dropout":
		return true
	}
	return false
}

func (b *builder) padError() error {
	return unsupportedUse(b.padNode, "pad inside the Conv or AvgPool layer instead",
		"is only supported right before a Conv or AveragePool (it is folded into their padding)")
}

// alias records the output of an Identity of a constant or of a shape value (PyTorch
// shares equal initializers this way) as the same value.
func (b *builder) alias(n *node) error {
	out, err := n.output()
	if err != nil {
		return err
	}
	in := n.input(0)
	if t, ok := b.consts[in]; ok {
		b.consts[out] = t
	} else if v, ok := b.shapes[in]; ok {
		b.shapes[out] = v
	} else {
		return unsupportedUse(n, "", "has no input")
	}
	return nil
}

// constant records the output of a Constant node.
func (b *builder) constant(n *node) error {
	t, err := constantTensor(n)
	if err != nil {
		return err
	}
	out, err := n.output()
	if err != nil {
		return err
	}
	b.consts[out] = t
	return nil
}

// data checks that input i of n is the output of the previous chain node.
func (b *builder) data(n *node, i int) error {
	in := n.input(i)
	if in == b.cur {
		return nil
	}
	if _, ok := b.chain[in]; ok {
		return unsupportedUse(n, "only a single chain of layers is supported",
			"reads %q, an earlier output than the previous layer's %q (the graph branches)", in, b.cur)
	}
	return unsupportedUse(n, "export with do_constant_folding=True",
		"input %d (%q) must be the output of the previous layer, not a constant", i, in)
}

// isData reports whether input i of n is the output of the previous chain node.
func (b *builder) isData(n *node, i int) bool { return i < len(n.inputs) && n.inputs[i] == b.cur }

// tensorInput returns the constant input i of n, decoded.
func (b *builder) tensorInput(n *node, i int) (*tensor, error) {
	name := n.input(i)
	tp, ok := b.consts[name]
	if !ok {
		if _, chain := b.chain[name]; chain && name != b.cur {
			return nil, unsupportedUse(n, "only a single chain of layers is supported",
				"reads %q, an earlier output than the previous layer's %q (the graph branches)", name, b.cur)
		}
		return nil, unsupportedUse(n, "", "input %d (%q) must be a constant (an initializer)", i, name)
	}
	if t, ok := b.decoded[name]; ok {
		return t, nil
	}
	t, err := decodeTensor(tp)
	if err != nil {
		return nil, err
	}
	if t.name == "" {
		t.name = name
	}
	b.decoded[name] = t
	return t, nil
}

// emit appends a layer and makes the output of n, a tensor of the given rank, the
// head of the chain.
func (b *builder) emit(n *node, l model.Layer, rank int) error {
	out, err := l.OutputShape(b.curAct.shape)
	if err != nil {
		return fmt.Errorf("onnx: node %q (%s): %w", n.name, n.op, err)
	}
	b.layers = append(b.layers, l)
	return b.advance(n, activation{shape: out, rank: rank})
}

// advance makes the output of n, of shape act, the head of the chain.
func (b *builder) advance(n *node, act activation) error {
	if err := b.follow(n, act); err != nil {
		return err
	}
	b.curAct = act
	return nil
}

// follow makes the output of n, a tensor of ONNX shape act, the head of the chain
// without adding a layer; the shape the next layer sees is unchanged.
func (b *builder) follow(n *node, act activation) error {
	out, err := n.output()
	if err != nil {
		return err
	}
	if b.known(out) {
		return errs.New(errs.ErrMalformed, "onnx: node %q (%s): output %q is defined twice", n.name, n.op, out)
	}
	b.cur = out
	b.chain[out] = act
	return nil
}

// lastLayer returns the last layer emitted, nil if none.
func (b *builder) lastLayer() model.Layer {
	if len(b.layers) == 0 {
		return nil
	}
	return b.layers[len(b.layers)-1]
}

// finish checks that the chain ends at the graph's only output.
func (b *builder) finish(g *onnxpb.GraphProto) error {
	if b.padNode != nil {
		return b.padError()
	}
	outs := g.GetOutput()
	if len(outs) != 1 {
		return errs.New(errs.ErrUnsupported, "onnx: the graph has %d outputs; want exactly one", len(outs))
	}
	if name := outs[0].GetName(); name != b.cur {
		return errs.New(errs.ErrUnsupported, "onnx: the graph output %q is not the output %q of the last layer; only a single chain of layers is supported",
			name, b.cur)
	}
	return nil
}
