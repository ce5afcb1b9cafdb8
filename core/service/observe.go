package service

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// recorder is the ResponseWriter handlers write to: it remembers the status and
// counts the bytes, and carries the attributes the request's log line gets.
type recorder struct {
	http.ResponseWriter
	status  int
	written int64
	attrs   []slog.Attr
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// annotate adds attributes to the log line of the request w answers.
func annotate(w http.ResponseWriter, attrs ...slog.Attr) {
	if r, ok := w.(*recorder); ok {
		r.attrs = append(r.attrs, attrs...)
	}
}

// countingBody counts the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// retryError is a busy refusal with the time after which a retry may succeed.
type retryError struct {
	err     error
	seconds float64
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retryAfter attaches a retry delay to err (if it refuses a busy request).
func retryAfter(err error, seconds float64) error {
	if err == nil || statusOf(err) != http.StatusServiceUnavailable {
		return err
	}
	return &retryError{err: err, seconds: seconds}
}

// observe wraps a handler: its error becomes a JSON error response, and every
// request is counted in the metrics and logged in one line (method, route, status,
// bytes, time, token name and what the handler added: never a body).
func (s *Service) observe(route string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		// The handler reads the body through a counter, from a copy of the request:
		// the server must still see its own body to decide what to do with what is
		// left unread.
		body := &countingBody{ReadCloser: r.Body}
		r = r.WithContext(r.Context())
		r.Body = body
		err := h(rec, r)
		if err != nil {
			seconds := 1.0
			var re *retryError
			if errors.As(err, &re) {
				seconds = re.seconds
			}
			if rec.status == 0 {
				writeError(rec, err, seconds)
			} else {
				rec.status = statusOf(err) // the response was cut short
			}
			if body.n == 0 && rec.status >= 400 {
				s.metrics.rejected.WithLabelValues(strconv.Itoa(rec.status)).Inc()
			}
		}
		code := strconv.Itoa(rec.status)
		s.metrics.requests.WithLabelValues(route, code).Inc()
		s.metrics.bytesIn.WithLabelValues(route).Add(float64(body.n))
		s.metrics.bytesOut.WithLabelValues(route).Add(float64(rec.written))
		level := slog.LevelInfo
		switch {
		case rec.status >= 500 && rec.status != http.StatusServiceUnavailable:
			level = slog.LevelError
		case rec.status >= 400:
			level = slog.LevelWarn
		}
		attrs := append([]slog.Attr{slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", rec.status), slog.Int64("bytes_in", body.n), slog.Int64("bytes_out", rec.written),
			slog.Float64("seconds", time.Since(start).Seconds()), slog.String("remote", r.RemoteAddr)}, rec.attrs...)
		if err != nil {
			attrs = append(attrs, slog.String("error", oneLine(err.Error())))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
		if aborted(err) {
			panic(http.ErrAbortHandler) // net/http cuts the connection, quietly
		}
	})
}
