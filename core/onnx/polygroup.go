package onnx

import (
	"math"

	"github.com/cryptonets/cryptonets/core/model"
)

// maxGroupDegree bounds the degree of a polynomial group.
const maxGroupDegree = 16

// matchPolynomial recognizes a polynomial of x of degree 2 or more written with
// several operators: Add, Sub, Mul, Div by a scalar constant, Neg and Pow with a small
// integer exponent, whose operands are x, scalar constants or other nodes of the
// group, with one output read outside the group. PyTorch writes polynomial activations
// this way (c0 + c1·x + c2·x·x, Horner's rule, x**3). A lone Mul(x, x) or Pow(x, 2)
// is left to the Square translation.
func (b *builder) matchPolynomial(x string) (group, bool) {
	polys := map[string][]float64{x: {0, 1}}
	inGroup := map[*node]bool{}
	var nodes []*node
	// The nodes are visited in graph order (the graph is topologically sorted), so
	// every operand of a group node is known when it is reached.
	for _, n := range b.order {
		if !polyOp(n.op) || len(n.outputs) != 1 || !b.readsAny(n, polys) {
			continue
		}
		p, ok := b.evalPoly(n, polys)
		if !ok {
			return group{}, false // reads x or the group but is not a polynomial of x
		}
		polys[n.outputs[0]] = p
		inGroup[n] = true
		nodes = append(nodes, n)
	}
	// Exactly one node's output may leave the group, and x must not.
	var last *node
	for _, n := range nodes {
		out := n.outputs[0]
		leaves := b.outputs[out]
		for _, r := range b.consumers[out] {
			leaves = leaves || !inGroup[r]
		}
		if leaves {
			if last != nil {
				return group{}, false
			}
			last = n
		}
	}
	if last == nil || len(nodes) < 2 && trim(polys[last.outputs[0]]).isSquare() || !b.onlyReaders(x, nodes) {
		return group{}, false
	}
	p := trim(polys[last.outputs[0]])
	if len(p)-1 < 2 {
		return group{}, false // affine: the single-node translations handle it
	}
	return group{layer: &model.Polynomial{Coeffs: p}, nodes: nodes, last: last}, true
}

// polyOp reports whether op may be part of a polynomial group.
func polyOp(op string) bool {
	switch op {
	case "Add", "Sub", "Mul", "Div", "Neg", "Pow":
		return true
	}
	return false
}

// readsAny reports whether n reads one of the tensors of polys.
func (b *builder) readsAny(n *node, polys map[string][]float64) bool {
	for _, in := range n.inputs {
		if _, ok := polys[in]; ok {
			return true
		}
	}
	return false
}

// evalPoly returns the polynomial n computes from the known polynomials and scalar
// constants.
func (b *builder) evalPoly(n *node, polys map[string][]float64) ([]float64, bool) {
	operand := func(i int) ([]float64, bool) {
		if p, ok := polys[n.input(i)]; ok {
			return p, true
		}
		if k, ok := b.scalar(n.input(i)); ok {
			return []float64{k}, true
		}
		return nil, false
	}
	if n.op == "Neg" {
		p, ok := operand(0)
		return scalePoly(p, -1), ok && len(n.inputs) == 1
	}
	if len(n.inputs) != 2 {
		return nil, false
	}
	a, okA := operand(0)
	c, okC := operand(1)
	if !okA || !okC {
		return nil, false
	}
	var p []float64
	switch n.op {
	case "Add":
		p = addPoly(a, c, 1)
	case "Sub":
		p = addPoly(a, c, -1)
	case "Mul":
		p = mulPoly(a, c)
	case "Div":
		if len(trim(c)) != 1 || c[0] == 0 {
			return nil, false
		}
		p = scalePoly(a, 1/c[0])
	case "Pow":
		k := trim(c)
		if len(k) != 1 || k[0] != math.Trunc(k[0]) || k[0] < 0 || k[0] > maxGroupDegree {
			return nil, false
		}
		p = []float64{1}
		for range int(k[0]) {
			p = mulPoly(p, a)
		}
	}
	if len(trim(p))-1 > maxGroupDegree {
		return nil, false
	}
	return p, true
}

// poly is a list of monomial coefficients.
type poly []float64

// trim drops trailing zero coefficients (keeping at least one).
func trim(p []float64) poly {
	n := len(p)
	for n > 1 && p[n-1] == 0 {
		n--
	}
	return poly(p[:n])
}

// isSquare reports whether p is x².
func (p poly) isSquare() bool { return len(p) == 3 && p[0] == 0 && p[1] == 0 && p[2] == 1 }

func addPoly(a, c []float64, sign float64) []float64 {
	out := make([]float64, max(len(a), len(c)))
	copy(out, a)
	for i, v := range c {
		out[i] += sign * v
	}
	return out
}

func mulPoly(a, c []float64) []float64 {
	out := make([]float64, len(a)+len(c)-1)
	for i, u := range a {
		for j, v := range c {
			out[i+j] += u * v
		}
	}
	return out
}

func scalePoly(a []float64, k float64) []float64 {
	out := make([]float64, len(a))
	for i, v := range a {
		out[i] = k * v
	}
	return out
}
