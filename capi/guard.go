package main

/*
#include "cryptonets.h"
#include "shim.h"
*/
import "C"

import (
	"errors"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/cryptonets/cryptonets/core/errs"
)

// The status codes of include/cryptonets.h, for Go code that cannot use C (tests).
const (
	statusOK              = C.CN_OK
	statusInvalidArgument = C.CN_E_INVALID_ARGUMENT
	statusMalformed       = C.CN_E_MALFORMED
	statusMismatch        = C.CN_E_MISMATCH
	statusInsecure        = C.CN_E_INSECURE_PARAMETERS
	statusIO              = C.CN_E_IO
	statusBufferTooSmall  = C.CN_E_BUFFER_TOO_SMALL
	statusInternal        = C.CN_E_INTERNAL
	statusIntegrity       = C.CN_E_INTEGRITY
	statusLimit           = C.CN_E_LIMIT
	statusUnsupported     = C.CN_E_UNSUPPORTED
)

// errBufferTooSmall is the one failure only the C boundary has: a caller's buffer
// cannot hold the answer (CN_E_BUFFER_TOO_SMALL).
var errBufferTooSmall = errors.New("buffer too small")

func invalidf(format string, args ...any) error {
	return errs.New(errs.ErrInvalidArgument, format, args...)
}

func internalf(format string, args ...any) error {
	return errs.New(errs.ErrInternal, format, args...)
}

func bufferTooSmallf(format string, args ...any) error {
	return errs.New(errBufferTooSmall, format, args...)
}

// code maps an error to its status: CN_E_BUFFER_TOO_SMALL, or minus the number of
// its class (errs.Code), which include/cryptonets.h's CN_E_* values equal (a test
// checks it).
func code(err error) C.int {
	if errors.Is(err, errBufferTooSmall) {
		return C.CN_E_BUFFER_TOO_SMALL
	}
	return C.int(-errs.Code(err))
}

// guard runs the body of the export fn: every export is exactly one call to it. It
// turns an error into its status and this thread's message, and a panic into
// CN_E_INTERNAL: a bug in the library must not end the host process. (A panic in a
// goroutine that core/ starts cannot be recovered here; core/ must not panic there.)
func guard(fn string, body func() error) (status C.int) {
	defer func() {
		if r := recover(); r != nil {
			status = report(fn, internalf(
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
