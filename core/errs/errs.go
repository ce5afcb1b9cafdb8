// Package errs holds the classes of failure that every error of the library belongs
// to. An error of the library wraps its class, so errors.Is(err, errs.ErrMalformed)
// tells what kind of failure it is whatever its message says; the C ABI maps each
// class to one status code, the Python package to one exception, and the CLI to one
// exit code (ClassOf).
package errs

import (
	"errors"
	"fmt"
	"io/fs"
)

// The classes.
var (
	// ErrInvalidArgument: the caller passed something the call cannot take (a nil
	// object, a wrong count, a value out of range, an unknown option).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrMalformed: bytes or a file that do not decode (truncated, extended, bad
	// magic, a length field that does not add up, unreduced coefficients).
	ErrMalformed = errors.New("malformed input")
	// ErrMismatch: a well-formed object made for something else (other CKKS
	// parameters, another model plan, another kind of object, another request).
	ErrMismatch = errors.New("mismatch")
	// ErrInsecure: parameters below 128-bit security without the explicit opt-in.
	ErrInsecure = errors.New("insecure parameters")
	// ErrIntegrity: a decrypted result failed its integrity check (a wrong secret
	// key, a tampered or replayed result).
	ErrIntegrity = errors.New("integrity check failed")
	// ErrLimit: the input would take more memory, time or space than allowed.
	ErrLimit = errors.New("resource limit exceeded")
	// ErrUnsupported: a well-formed model or option the library cannot evaluate
	// (an operator, a shape, a network too deep for any parameter set).
	ErrUnsupported = errors.New("unsupported")
	// ErrIO: a file could not be read or written.
	ErrIO = errors.New("i/o error")
	// ErrInternal: a failure of the library itself (a recovered panic, a bug).
	ErrInternal = errors.New("internal error")
)

// codes numbers the classes: the C ABI's status for a class is minus its number
// (CN_E_*), and the CLI exits with it. 6 is the C ABI's CN_E_BUFFER_TOO_SMALL, which
// only the C boundary raises.
var codes = []struct {
	class error
	code  int
}{
	{ErrInvalidArgument, 1}, {ErrMalformed, 2}, {ErrMismatch, 3}, {ErrInsecure, 4}, {ErrIO, 5},
	{ErrInternal, 7}, {ErrIntegrity, 8}, {ErrLimit, 9}, {ErrUnsupported, 10},
}

// Classes lists every class.
func Classes() []error {
	out := make([]error, len(codes))
	for i, c := range codes {
		out[i] = c.class
	}
	return out
}

// Code returns the number of err's class (ClassOf), 0 for a nil error.
func Code(err error) int {
	class := ClassOf(err)
	for _, c := range codes {
		if c.class == class {
			return c.code
		}
	}
	return 0
}

// New returns an error of the given class with the formatted message; a %w verb in
// format wraps its operand as fmt.Errorf does.
func New(class error, format string, args ...any) error {
	return &classified{class: class, err: fmt.Errorf(format, args...)}
}

// Wrap gives err a class, keeping its message. A nil err stays nil.
func Wrap(class error, err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: class, err: err}
}

// classified is an error with its class.
type classified struct{ class, err error }

// Error returns the message, without the class.
func (e *classified) Error() string { return e.err.Error() }

// Unwrap returns the class and the error it classifies.
func (e *classified) Unwrap() []error { return []error{e.class, e.err} }

// ClassOf returns the class of err: the outermost class it wraps; for an error
// without one, ErrIO if it is a file system error and ErrInternal otherwise (every
// error the library makes has a class). It returns nil for a nil error.
func ClassOf(err error) error {
	if err == nil {
		return nil
	}
	if c := outermost(err); c != nil {
		return c
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return ErrIO
	}
	return ErrInternal
}

// outermost walks err's tree depth first and returns the first class it meets.
func outermost(err error) error {
	for _, c := range codes {
		if err == c.class {
			return c.class
		}
	}
	if c, ok := err.(*classified); ok {
		return c.class
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if next := u.Unwrap(); next != nil {
			return outermost(next)
		}
	case interface{ Unwrap() []error }:
		for _, next := range u.Unwrap() {
			if c := outermost(next); c != nil {
				return c
			}
		}
	}
	return nil
}
