package onnx

import (
	"math"
	"slices"

	"github.com/cryptonets/cryptonets/core/model"
)

// A group is a small subgraph that computes one activation function of the chain
// tensor with several operators, as exporters write functions that the operator set
// lacks: PyTorch before 2.1 (and any exporter before opset 20) writes GELU as
// x·(1 + erf(x/√2))·0.5, and SiLU as x·sigmoid(x). The importer recognizes the whole
// group when it reaches its first node and translates it into one layer.
type group struct {
	layer model.Layer
	nodes []*node
	// last is the node whose output is the result.
	last *node
}

// constTolerance is the relative tolerance for the constants of a group: exporters
// store them as float32.
const constTolerance = 1e-6

// group recognizes a group of nodes that reads the chain tensor x. A polynomial of
// x written with several operators (a trained polynomial activation, such as
// c0 + c1·x + c2·x·x) is a group too.
func (b *builder) group(x string) (group, bool) {
	for _, match := range []func(string) (group, bool){b.matchGELU, b.matchSiLU, b.matchPolynomial} {
		if g, ok := match(x); ok {
			return g, true
		}
	}
	return group{}, false
}

// emitGroup appends the layer of a recognized group and skips its other nodes.
func (b *builder) emitGroup(g group) error {
	for _, n := range g.nodes {
		b.grouped[n] = true
	}
	return b.emit(g.last, g.layer, b.curAct.rank)
}

// matchSiLU recognizes Mul(x, Sigmoid(x)).
func (b *builder) matchSiLU(x string) (group, bool) {
	var sig, mul *node
	for _, n := range b.consumers[x] {
		switch {
		case n.op == "Sigmoid" && len(n.inputs) == 1:
			sig = n
		case n.op == "Mul" && len(n.inputs) == 2:
			mul = n
		}
	}
	if sig == nil || mul == nil || len(b.consumers[x]) != 2 || b.only(sig) != mul {
		return group{}, false
	}
	if other, ok := otherInput(mul, x); !ok || other != sig.outputs[0] {
		return group{}, false
	}
	return group{layer: model.NamedActivation{Func: string(model.KindSiLU)}, nodes: []*node{sig, mul}, last: mul}, true
}

// matchGELU recognizes x·(1 + erf(x/√2))·0.5: Div(x, √2) or Mul(x, 1/√2), then Erf,
// then Add of 1, then Muls by x and by 0.5 in any order (or by Mul(x, 0.5)).
func (b *builder) matchGELU(x string) (group, bool) {
	var nodes []*node
	for _, n := range b.consumers[x] {
		if k, ok := b.scaleOf(n, x); ok && near(k, 1/math.Sqrt2) {
			nodes = append(nodes, n)
			break
		}
	}
	if len(nodes) == 0 {
		return group{}, false
	}
	erf := b.only(nodes[0])
	if erf == nil || erf.op != "Erf" {
		return group{}, false
	}
	add := b.only(erf)
	if add == nil || add.op != "Add" {
		return group{}, false
	}
	if other, ok := otherInput(add, erf.outputs[0]); !ok || !b.isScalar(other, 1) {
		return group{}, false
	}
	nodes = append(nodes, erf, add)
	// Multiply by x and 0.5: at most three Muls.
	cur, haveX, factor := add, false, 1.0
	for range 3 {
		mul := b.only(cur)
		if mul == nil || mul.op != "Mul" {
			return group{}, false
		}
		other, ok := otherInput(mul, cur.outputs[0])
		if !ok {
			return group{}, false
		}
		if p := b.producer[other]; other == x || (p != nil && p.op == "Mul" && b.only(p) == mul) {
			if haveX {
				return group{}, false
			}
			haveX = true
			if other != x {
				k, ok := b.scaleOf(p, x)
				if !ok {
					return group{}, false
				}
				factor *= k
				nodes = append(nodes, p)
			}
		} else if k, ok := b.scalar(other); ok {
			factor *= k
		} else {
			return group{}, false
		}
		nodes = append(nodes, mul)
		cur = mul
		if haveX && near(factor, 0.5) {
			break
		}
	}
	if !haveX || !near(factor, 0.5) || !b.onlyReaders(x, nodes) {
		return group{}, false
	}
	return group{layer: model.NamedActivation{Func: string(model.KindGELU)}, nodes: nodes, last: cur}, true
}

// scaleOf returns k when n computes k·x: Mul(x, k), Mul(k, x) or Div(x, 1/k) with k a
// scalar constant.
func (b *builder) scaleOf(n *node, x string) (float64, bool) {
	if len(n.inputs) != 2 || (n.op != "Mul" && n.op != "Div") {
		return 0, false
	}
	if n.op == "Div" && n.inputs[0] != x {
		return 0, false
	}
	other, ok := otherInput(n, x)
	if !ok {
		return 0, false
	}
	k, ok := b.scalar(other)
	if !ok || k == 0 {
		return 0, false
	}
	if n.op == "Div" {
		k = 1 / k
	}
	return k, true
}

// otherInput returns the input of a two-input node that is not in, if in is the other.
func otherInput(n *node, in string) (string, bool) {
	switch {
	case len(n.inputs) != 2 || n.inputs[0] == n.inputs[1]:
		return "", false
	case n.inputs[0] == in:
		return n.inputs[1], true
	case n.inputs[1] == in:
		return n.inputs[0], true
	}
	return "", false
}

// only returns the one node that reads the output of n, nil if there are none or
// several or if that output is a graph output.
func (b *builder) only(n *node) *node {
	if len(n.outputs) != 1 || b.outputs[n.outputs[0]] {
		return nil
	}
	readers := b.consumers[n.outputs[0]]
	if len(readers) != 1 {
		return nil
	}
	return readers[0]
}

// onlyReaders reports whether every node that reads x is one of nodes.
func (b *builder) onlyReaders(x string, nodes []*node) bool {
	for _, n := range b.consumers[x] {
		if !slices.Contains(nodes, n) {
			return false
		}
	}
	return true
}

// scalar returns the value of a one-value floating-point constant: an initializer,
// or the output of a Constant node anywhere in the graph.
func (b *builder) scalar(name string) (float64, bool) {
	tp, ok := b.consts[name]
	if !ok {
		p := b.producer[name]
		if p == nil || p.op != "Constant" {
			return 0, false
		}
		if tp, _ = constantTensor(p); tp == nil {
			return 0, false
		}
	}
	t, err := decodeTensor(tp)
	if err != nil || t.floats == nil || t.size() != 1 {
		return 0, false
	}
	return t.floats[0], true
}

// isScalar reports whether name is a scalar constant near want.
func (b *builder) isScalar(name string, want float64) bool {
	k, ok := b.scalar(name)
	return ok && near(k, want)
}

// near reports whether a equals b within constTolerance (relative).
func near(a, b float64) bool { return math.Abs(a-b) <= constTolerance*math.Abs(b) }
