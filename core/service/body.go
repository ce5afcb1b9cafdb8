package service

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
)

// checkLength checks a request's Content-Length against the exact length its body
// must have, before anything is read: a longer one is refused as too large (413), a
// shorter one as malformed (400). A body without a length (chunked) is checked as
// it is read.
func checkLength(r *http.Request, want int64, what string) error {
	switch {
	case r.ContentLength < 0:
		return nil
	case r.ContentLength > want:
		return withStatus(http.StatusRequestEntityTooLarge, errs.New(errs.ErrLimit,
			"Content-Length %d: %s is exactly %d bytes", r.ContentLength, what, want))
	case r.ContentLength < want:
		return errs.New(errs.ErrMalformed, "Content-Length %d: %s is exactly %d bytes", r.ContentLength, what, want)
	}
	return nil
}

// bodyDeadline is the time allowed to move n bytes.
func (s *Service) bodyDeadline(n int64) time.Time {
	return time.Now().Add(s.cfg.BodyTimeout + time.Duration(float64(n)/float64(s.cfg.MinUploadRate)*float64(time.Second)))
}

// readBody reads the next len(buf) bytes of a request body into buf, within the
// body deadline for their size; if last, the body must end there. A short body is
// malformed (400), a longer one too large (413), a slow one timed out (408).
func (s *Service) readBody(w http.ResponseWriter, r *http.Request, buf []byte, what string, last bool) error {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(s.bodyDeadline(int64(len(buf)))); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return errs.New(errs.ErrIO, "%s: %w", what, err)
	}
	defer rc.SetReadDeadline(time.Time{})
	if _, err := io.ReadFull(r.Body, buf); err != nil {
		return bodyError(err, what, int64(len(buf)))
	}
	if !last {
		return nil
	}
	var one [1]byte
	if n, _ := r.Body.Read(one[:]); n > 0 {
		return withStatus(http.StatusRequestEntityTooLarge, errs.New(errs.ErrLimit, "%s is longer than its %d bytes", what, len(buf)))
	}
	return nil
}

// bodyError classifies an error reading a body.
func bodyError(err error, what string, want int64) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return withStatus(http.StatusRequestTimeout, errs.New(errs.ErrLimit, "%s: the body of %d bytes did not arrive in time", what, want))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errs.New(errs.ErrMalformed, "%s is truncated: expected exactly %d bytes", what, want)
	}
	return errs.New(errs.ErrMalformed, "%s: reading the body: %w", what, err)
}

// headError classifies an error reading the front of a body: a timeout as
// bodyError does, any other as it is.
func headError(err error, what string) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return bodyError(err, what, headBytes)
	}
	return err
}
