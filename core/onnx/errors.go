package onnx

import (
	"fmt"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
)

// UnsupportedError reports a node that the importer cannot translate: an operator it
// does not know, or a known operator used with attributes or inputs it cannot express
// as a layer. Callers can test for it with errors.As.
type UnsupportedError struct {
	// Op is the node's operator type, e.g. "Relu".
	Op string
	// Node is the node's name, or "#i (Op)" when the node has no name.
	Node string
	// Reason says what is not supported.
	Reason string
	// Hint says what to do about it; it may be empty.
	Hint string
}

// Unwrap returns the error's class, errs.ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return errs.ErrUnsupported }

// Error formats the error as `onnx: node "N": reason; hint`.
func (e *UnsupportedError) Error() string {
	msg := fmt.Sprintf("onnx: node %q: %s", e.Node, e.Reason)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// opHint tells the user what to do about an unsupported operator that CryptoNets
// models commonly meet; it returns "" for the others.
func opHint(op string) string {
	switch op {
	case "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish":
		return "use ReLU, sigmoid, tanh, GELU or SiLU (the conversion fits polynomials to them) or x*x (square) instead"
	case "Erf":
		return "Erf is only supported inside GELU's x*(1+erf(x/sqrt(2)))*0.5, as nn.GELU() exports it"
	case "GlobalMaxPool":
		return "replace it by a global average pool (AdaptiveAvgPool2d(1)) before export"
	}
	return ""
}

// unsupportedOp is the error for an operator the importer does not know.
func unsupportedOp(n *node) error {
	hint := opHint(n.op)
	if hint == "" {
		hint = "supported operators: " + strings.Join(supportedOps(), ", ")
	}
	reason := fmt.Sprintf("operator %s is not supported yet", n.op)
	if n.domain != "" && n.domain != "ai.onnx" {
		reason = fmt.Sprintf("operator %s of domain %q is not supported", n.op, n.domain)
		hint = "export with standard ONNX operators only"
	}
	return &UnsupportedError{Op: n.op, Node: n.name, Reason: reason, Hint: hint}
}

// unsupportedUse is the error for a known operator used in a way that has no layer.
func unsupportedUse(n *node, hint, format string, args ...any) error {
	return &UnsupportedError{Op: n.op, Node: n.name, Reason: n.op + " " + fmt.Sprintf(format, args...), Hint: hint}
}
