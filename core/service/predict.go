package service

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// maxSequenceRequests bounds the requests of one uploaded sequence.
const maxSequenceRequests = 1 << 20

// handlePredict evaluates a sealed upload: one request, or a sequence of them (as
// cryptonets encrypt writes any number of records). The plan comes from the keys the
// Cryptonets-Key-Id header names (their manifest) or, for a plan that needs no keys,
// from the query (as for the manifest). The body's exact length follows from the
// plan: a Content-Length that is neither one request nor a sequence of them is refused
// before anything is read. Each request then reserves its memory (waiting in the
// queue if needed), is read within the deadline for its size, decoded with every
// check of package wire, evaluated (a client that disconnects cancels the
// evaluation), and its sealed result streamed back.
func (s *Service) handlePredict(w http.ResponseWriter, r *http.Request, tok Token) error {
	leave, err := s.inFlight.enter(tok)
	if err != nil {
		return err
	}
	defer leave()
	m, err := s.model(w, r)
	if err != nil {
		return err
	}
	p, srv, done, err := s.predictPlan(w, r, tok, m)
	if err != nil {
		return err
	}
	defer done()
	annotate(w, slog.String("packing", string(p.manifest.Packing)))
	requests, err := requestsOf(r, p)
	if err != nil {
		return err
	}
	if err := s.plans.beforeEvaluation(r.Context(), p); err != nil {
		return retryAfter(err, p.seconds)
	}
	if requests == 1 {
		return s.predictOne(w, r, p, srv)
	}
	return s.predictSequence(w, r, p, srv, requests)
}

// requestsOf returns the number of requests a prediction's Content-Length holds: one
// (also for a body without a length), or a sequence of n ≥ 2 of exactly the plan's
// request length. Any other length is refused before the body is read: longer than
// the largest sequence with 413, otherwise with 400.
func requestsOf(r *http.Request, p *plan) (int, error) {
	one := p.requestBytes
	cl := r.ContentLength
	if cl < 0 || cl == one {
		return 1, nil
	}
	if n := (cl - wire.SequenceHeaderSize) / one; cl > one && n >= 2 && n <= maxSequenceRequests && wire.SequenceHeaderSize+n*one == cl {
		return int(n), nil
	}
	if cl > wire.SequenceHeaderSize+maxSequenceRequests*one {
		return 0, withStatus(http.StatusRequestEntityTooLarge, errs.New(errs.ErrLimit,
			"Content-Length %d: an upload for this plan holds at most %d requests of %d bytes", cl, maxSequenceRequests, one))
	}
	return 0, errs.New(errs.ErrMalformed, "Content-Length %d: an encrypted request for this plan is exactly %d bytes, and a sequence of n of them %d + n·%d",
		cl, one, wire.SequenceHeaderSize, one)
}

// predictOne evaluates a single request and answers its sealed result with its
// length.
func (s *Service) predictOne(w http.ResponseWriter, r *http.Request, p *plan, srv *server.Server) error {
	release, err := s.budget.acquire(r.Context(), p.requestBytes+p.memory.Evaluation, "this evaluation")
	if err != nil {
		return retryAfter(err, p.seconds)
	}
	defer release()
	data := make([]byte, p.requestBytes)
	if err := s.readBody(w, r, data, "the encrypted request", true); err != nil {
		return err
	}
	out, err := s.evaluate(r, p, srv, data)
	if err != nil {
		return err
	}
	annotate(w, slog.Int("images", out.Images))
	size, err := out.PayloadSize(p.plan.Parameters())
	if err != nil {
		return err
	}
	s.resultHeaders(w, p, 1, out.Images, int64(wire.HeaderSize+size))
	if _, err := wire.WriteCiphertexts(w, wire.KindEncryptedResult, &p.manifest, p.plan.Parameters(), out); err != nil {
		return errs.New(errs.ErrIO, "writing the result: %w", err)
	}
	return nil
}

// predictSequence evaluates the requests of a sequence one at a time, each with its
// own reservation, and streams the sequence of their results. Once the answer has
// started, a failure cuts the connection (errAborted), so that the client cannot
// take a partial answer for a whole one.
func (s *Service) predictSequence(w http.ResponseWriter, r *http.Request, p *plan, srv *server.Server, requests int) error {
	front := make([]byte, wire.SequenceHeaderSize)
	if err := s.readBody(w, r, front, "the sequence's header", false); err != nil {
		return err
	}
	sr, err := wire.NewSequenceReader(bytes.NewReader(front), wire.KindEncryptedBatch, &p.manifest, p.plan.Parameters())
	if err != nil {
		return err
	}
	if sr.Requests() != requests {
		return errs.New(errs.ErrMalformed, "the sequence announces %d requests, its Content-Length holds %d", sr.Requests(), requests)
	}
	annotate(w, slog.Int("requests", requests), slog.Int("images", sr.Images()))
	var sw *wire.SequenceWriter
	fail := func(err error) error {
		if err != nil && sw != nil {
			return &abortError{err}
		}
		return err
	}
	images := 0
	for i := range requests {
		release, err := s.budget.acquire(r.Context(), p.requestBytes+p.memory.Evaluation, "this evaluation")
		if err != nil {
			return fail(retryAfter(err, p.seconds))
		}
		data := make([]byte, p.requestBytes)
		if err := s.readBody(w, r, data, "request "+strconv.Itoa(i+1)+" of the sequence", i == requests-1); err != nil {
			release()
			return fail(err)
		}
		out, err := s.evaluate(r, p, srv, data)
		if err == nil {
			if images += out.Images; images+requests-1-i > sr.Images() || (i == requests-1 && images != sr.Images()) {
				err = errs.New(errs.ErrMalformed, "request %d of %d: its images do not add up to the %d the sequence announced", i+1, requests, sr.Images())
			}
		}
		if err == nil && sw == nil {
			s.resultHeaders(w, p, requests, sr.Images(), -1)
			sw, err = wire.NewSequenceWriter(w, wire.KindEncryptedResult, &p.manifest, p.plan.Parameters(), requests, sr.Images())
		}
		if err == nil {
			err = sw.Write(out)
		}
		release()
		if err != nil {
			return fail(err)
		}
		_ = http.NewResponseController(w).Flush()
	}
	return fail(sw.Close())
}

// evaluate decodes a sealed request and evaluates it; a client that went away
// cancels it.
func (s *Service) evaluate(r *http.Request, p *plan, srv *server.Server, data []byte) (*wire.Ciphertexts, error) {
	start := time.Now()
	s.metrics.evaluations.Inc()
	defer s.metrics.evaluations.Dec()
	in, err := wire.DecodeCiphertexts(data, wire.KindEncryptedBatch, &p.manifest, p.plan.Parameters())
	if err != nil {
		return nil, err
	}
	out, err := srv.Predict(r.Context(), in, nil)
	if err != nil {
		if r.Context().Err() != nil {
			return nil, errs.New(errs.ErrLimit, "the client went away: evaluation cancelled: %w", r.Context().Err())
		}
		return nil, err
	}
	s.metrics.evaluation.WithLabelValues(p.model.name, string(p.manifest.Packing)).Observe(time.Since(start).Seconds())
	return out, nil
}

// resultHeaders starts a 200 answer of results: with its length if known (≥ 0), and
// a write deadline for it (or for each request's result of a sequence).
func (s *Service) resultHeaders(w http.ResponseWriter, p *plan, requests, images int, length int64) {
	h := w.Header()
	h.Set("Content-Type", httpapi.ContentType)
	if length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	}
	h.Set(httpapi.HeaderPlan, p.fingerprint)
	h.Set(httpapi.HeaderImages, strconv.Itoa(images))
	h.Set(httpapi.HeaderRequests, strconv.Itoa(requests))
	_ = http.NewResponseController(w).SetWriteDeadline(s.bodyDeadline(int64(requests) * max(length, p.requestBytes)))
	w.WriteHeader(http.StatusOK)
}

// abortError is a failure after the answer has started: the connection is cut.
type abortError struct{ err error }

func (e *abortError) Error() string { return "answer cut short: " + e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

// aborted reports whether err must cut the connection.
func aborted(err error) bool {
	var ae *abortError
	return errors.As(err, &ae)
}

// predictPlan returns the plan and server of a prediction: the keys' (which must be
// for model m) if the request names keys, else the plan of the query, which must
// need none.
func (s *Service) predictPlan(w http.ResponseWriter, r *http.Request, tok Token, m *servedModel) (*plan, *server.Server, func(), error) {
	if idText := r.Header.Get(httpapi.HeaderKeyID); idText != "" {
		id, err := keystore.ParseID(idText)
		if err != nil {
			return nil, nil, nil, err
		}
		annotate(w, slog.String("key_id", id.String()))
		e, done, err := s.keys.get(r.Context(), tok.Name, id, func(ctx context.Context) (*keyEntry, error) { return s.loadKeys(ctx, tok.Name, id) })
		if err != nil {
			return nil, nil, nil, retryAfter(err, 1)
		}
		if e.plan.model != m {
			done()
			return nil, nil, nil, errs.New(errs.ErrMismatch, "keys %s were made for model %s, not %s", id, e.plan.model.name, m.name)
		}
		if err := s.checkStored(r.Context(), tok.Name, id); err != nil {
			done()
			return nil, nil, nil, err
		}
		return e.plan, e.server, done, nil
	}
	opts, err := planOptions(r)
	if err != nil {
		return nil, nil, nil, err
	}
	p, done, err := s.plans.forOptions(r.Context(), m, opts)
	if err != nil {
		return nil, nil, nil, retryAfter(err, 1)
	}
	if p.keyless == nil {
		done()
		return nil, nil, nil, errs.New(errs.ErrInvalidArgument, "the %s plan needs evaluation keys: upload them (PUT %s) and name them in the %s header",
			p.manifest.Packing, httpapi.PathKeys, httpapi.HeaderKeyID)
	}
	return p, p.keyless, done, nil
}
