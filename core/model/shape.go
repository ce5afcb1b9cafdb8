// Package model holds the network as a graph of layers, its shape inference, the
// float64 plaintext evaluator that every encrypted result is checked against, and the
// versioned model file.
package model

import "fmt"

// Shape is the shape of one image's tensor: channels × height × width. A flat vector
// of n values has shape {n, 1, 1}.
type Shape struct {
	C int `codec:"c"`
	H int `codec:"h"`
	W int `codec:"w"`
}

// Size returns the number of values in a tensor of this shape.
func (s Shape) Size() int { return s.C * s.H * s.W }

// Valid reports whether every dimension is positive and the size is bounded.
func (s Shape) Valid() bool {
	const maxSize = 1 << 24
	return s.C > 0 && s.H > 0 && s.W > 0 && s.C <= maxSize && s.H <= maxSize && s.W <= maxSize &&
		s.Size() <= maxSize
}

// Index returns the flat index of element (c, y, x) in channel-major order.
func (s Shape) Index(c, y, x int) int { return (c*s.H+y)*s.W + x }

// String formats the shape as C×H×W.
func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }
