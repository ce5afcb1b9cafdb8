package service

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/keystore"
)

// statusError gives an error the HTTP status it is answered with, when its class
// alone does not say (a missing token, an unknown name, a quota, a timeout).
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// withStatus returns err answered with the given status.
func withStatus(status int, err error) error { return &statusError{status: status, err: err} }

// statusClientGone is the status logged and counted for a request whose client went
// away before its answer (as nginx logs it; the client gets no answer).
const statusClientGone = 499

// statusOf returns the HTTP status err is answered with: its own (statusError), 499
// for a client that went away, 503 for a busy server or a key store that cannot be
// reached, 404 for unknown keys, else by its class: a bad request (400), a
// well-formed object made for something else (409), what the server will not
// evaluate (422), a limit (413), a failure of the server (500).
func statusOf(err error) int {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.status
	case errors.Is(err, context.Canceled):
		return statusClientGone
	case errors.Is(err, errBusy), errors.Is(err, keystore.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, keystore.ErrNotFound):
		return http.StatusNotFound
	}
	switch errs.ClassOf(err) {
	case errs.ErrInvalidArgument, errs.ErrMalformed:
		return http.StatusBadRequest
	case errs.ErrMismatch:
		return http.StatusConflict
	case errs.ErrInsecure, errs.ErrUnsupported:
		return http.StatusUnprocessableEntity
	case errs.ErrLimit:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError // ErrIO, ErrIntegrity (a damaged store), ErrInternal
}

// writeError answers err as JSON (httpapi.ErrorBody); a busy server adds
// Retry-After, in seconds.
func writeError(w http.ResponseWriter, err error, retryAfter float64) {
	status := statusOf(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(retryAfter)))))
	}
	body := httpapi.ErrorBody{Error: httpapi.ErrorDetail{Class: errs.ClassOf(err).Error(), Code: errs.Code(err),
		Status: status, Message: oneLine(err.Error())}}
	writeJSON(w, status, body)
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}
