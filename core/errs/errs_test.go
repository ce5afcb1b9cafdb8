package errs_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
)

func TestClassOf(t *testing.T) {
	_, openErr := os.Open("/nonexistent/cryptonets")
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"nil", nil, nil},
		{"direct", errs.New(errs.ErrMalformed, "bad %d", 1), errs.ErrMalformed},
		{"wrapped by fmt", fmt.Errorf("outer: %w", errs.New(errs.ErrMismatch, "inner")), errs.ErrMismatch},
		{"outermost wins", errs.New(errs.ErrMalformed, "file: %w", errs.New(errs.ErrInvalidArgument, "shape")), errs.ErrMalformed},
		{"joined: first", errors.Join(errs.New(errs.ErrUnsupported, "a"), errs.New(errs.ErrLimit, "b")), errs.ErrUnsupported},
		{"file system error", fmt.Errorf("x: %w", openErr), errs.ErrIO},
		{"unclassified is internal", errors.New("plain"), errs.ErrInternal},
		{"the class itself", errs.ErrIntegrity, errs.ErrIntegrity},
		{"Wrap", errs.Wrap(errs.ErrLimit, openErr), errs.ErrLimit},
	}
	for _, c := range cases {
		if got := errs.ClassOf(c.err); got != c.want {
			t.Errorf("%s: class %v, want %v", c.name, got, c.want)
		}
	}
}

func TestErrorsKeepTheirMessageAndClass(t *testing.T) {
	inner := errors.New("disk on fire")
	err := errs.New(errs.ErrIO, "model file: %w", inner)
	if err.Error() != "model file: disk on fire" {
		t.Errorf("message %q", err.Error())
	}
	if !errors.Is(err, errs.ErrIO) || !errors.Is(err, inner) {
		t.Error("errors.Is does not see the class and the wrapped error")
	}
	if errs.Wrap(errs.ErrIO, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

func TestCodesAreDistinct(t *testing.T) {
	seen := map[int]error{}
	for _, c := range errs.Classes() {
		code := errs.Code(errs.New(c, "x"))
		if code <= 0 || code == 6 {
			t.Errorf("%v: code %d", c, code)
		}
		if prev, ok := seen[code]; ok {
			t.Errorf("%v and %v share code %d", c, prev, code)
		}
		seen[code] = c
	}
	if errs.Code(nil) != 0 {
		t.Error("nil has a code")
	}
}
