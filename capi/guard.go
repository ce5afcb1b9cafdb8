package main

/*
#include "cryptonets.h"
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/wire"
)

// The status codes of include/cryptonets.h, for Go code that cannot use C (tests).
const (
	statusOK              = C.CN_OK
	statusInvalidArgument = C.CN_E_INVALID_ARGUMENT
	statusFormat          = C.CN_E_FORMAT
	statusMismatch        = C.CN_E_PARAMETER_MISMATCH
	statusInsecure        = C.CN_E_INSECURE_PARAMETERS
	statusIO              = C.CN_E_IO
	statusBufferTooSmall  = C.CN_E_BUFFER_TOO_SMALL
	statusInternal        = C.CN_E_INTERNAL
)

// statusError carries a CN_E_* code. A forced code wins over what the wrapped error
// says; an unforced one is the default used when the wrapped error matches no known
// sentinel.
type statusError struct {
	code   C.int
	forced bool
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func errorf(code C.int, format string, args ...any) error {
	return &statusError{code: code, forced: true, err: fmt.Errorf(format, args...)}
}

func invalidf(format string, args ...any) error {
	return errorf(C.CN_E_INVALID_ARGUMENT, format, args...)
}

// orCode gives err a default code, used when it wraps none of the sentinels.
func orCode(code C.int, err error) error {
	if err == nil {
		return nil
	}
	return &statusError{code: code, err: err}
}

// code maps an error to its status.
func code(err error) C.int {
	var se *statusError
	if errors.As(err, &se) && se.forced {
		return se.code
	}
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, params.ErrInsecure):
		return C.CN_E_INSECURE_PARAMETERS
	case errors.Is(err, wire.ErrMismatch):
		return C.CN_E_PARAMETER_MISMATCH
	case errors.Is(err, wire.ErrFormat):
		return C.CN_E_FORMAT
	case errors.As(err, &pathErr), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return C.CN_E_IO
	case se != nil:
		return se.code
	}
	return C.CN_E_INTERNAL
}

// guard runs the body of the export fn: every export is exactly one call to it. It
// turns an error into its status and this thread's message, and a panic into
// CN_E_INTERNAL: a bug in the library must not end the host process. (A panic in a
// goroutine that core/ starts cannot be recovered here; core/ must not panic there.)
func guard(fn string, body func() error) (status C.int) {
	defer func() {
		if r := recover(); r != nil {
			status = report(fn, errorf(C.CN_E_INTERNAL,
				"internal error (recovered panic: %v); please report it; free the objects this call used", r))
		}
	}()
	if err := body(); err != nil {
		return report(fn, err)
	}
	return C.CN_OK
}

// report stores "fn: message" as this thread's last error, on one line.
func report(fn string, err error) C.int {
	msg := fn + ": " + strings.Join(strings.Fields(err.Error()), " ")
	if len(msg) >= C.CNSHIM_ERROR_MAX {
		msg = msg[:C.CNSHIM_ERROR_MAX-4]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
		msg += "..."
	}
	b := []byte(msg)
	C.cnshim_set_error((*C.char)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b)))
	return code(err)
}
