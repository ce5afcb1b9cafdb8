package onnx

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
)

// node is a NodeProto with its attributes indexed by name.
type node struct {
	op, name, domain string
	inputs, outputs  []string
	attrs            map[string]*onnxpb.AttributeProto
	proto            *onnxpb.NodeProto
}

// newNode indexes the node's attributes; i is its position in the graph, used to name
// nodes that have no name.
func newNode(p *onnxpb.NodeProto, i int) (*node, error) {
	n := &node{op: p.GetOpType(), name: p.GetName(), domain: p.GetDomain(),
		inputs: p.GetInput(), outputs: p.GetOutput(), attrs: map[string]*onnxpb.AttributeProto{}, proto: p}
	if n.name == "" {
		n.name = fmt.Sprintf("#%d (%s)", i, n.op)
	}
	for _, a := range p.GetAttribute() {
		if a.GetRefAttrName() != "" {
			return nil, unsupportedUse(n, "", "attribute %q refers to a function attribute", a.GetName())
		}
		n.attrs[a.GetName()] = a
	}
	return n, nil
}

// input returns the name of input i, or "" when the optional input is absent.
func (n *node) input(i int) string {
	if i < len(n.inputs) {
		return n.inputs[i]
	}
	return ""
}

// output returns the name of the node's first output.
func (n *node) output() (string, error) {
	if len(n.outputs) == 0 || n.outputs[0] == "" {
		return "", errs.New(errs.ErrMalformed, "onnx: node %q (%s) has no output", n.name, n.op)
	}
	return n.outputs[0], nil
}

// attr returns the attribute name after checking its type; nil when it is absent.
func (n *node) attr(name string, want onnxpb.AttributeProto_AttributeType) (*onnxpb.AttributeProto, error) {
	a, ok := n.attrs[name]
	if !ok {
		return nil, nil
	}
	if a.GetType() != want && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return nil, errs.New(errs.ErrMalformed, "onnx: node %q (%s): attribute %q has type %v, want %v", n.name, n.op, name, a.GetType(), want)
	}
	return a, nil
}

// intAttr returns an INT attribute, or def when it is absent.
func (n *node) intAttr(name string, def int64) (int64, error) {
	a, err := n.attr(name, onnxpb.AttributeProto_INT)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetI(), nil
}

// floatAttr returns a FLOAT attribute, or def when it is absent.
func (n *node) floatAttr(name string, def float64) (float64, error) {
	a, err := n.attr(name, onnxpb.AttributeProto_FLOAT)
	if a == nil || err != nil {
		return def, err
	}
	return float64(a.GetF()), nil
}

// stringAttr returns a STRING attribute, or def when it is absent.
func (n *node) stringAttr(name, def string) (string, error) {
	a, err := n.attr(name, onnxpb.AttributeProto_STRING)
	if a == nil || err != nil {
		return def, err
	}
	return string(a.GetS()), nil
}

// intsAttr returns an INTS attribute, or def when it is absent.
func (n *node) intsAttr(name string, def []int64) ([]int64, error) {
	a, err := n.attr(name, onnxpb.AttributeProto_INTS)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetInts(), nil
}
