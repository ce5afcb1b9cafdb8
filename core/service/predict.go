package service

import (
	"context"
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

// handlePredict evaluates one sealed request. The plan comes from the keys the
// Cryptonets-Key-Id header names (their manifest) or, for a plan that needs no keys,
// from the query (as for the manifest). The body's exact length follows from the
// plan: a wrong Content-Length is refused before anything is read. The request then
// reserves its memory (waiting in the queue if needed), its body is read within the
// deadline for its size, decoded with every check of package wire, evaluated (a
// client that disconnects cancels the evaluation) and the sealed result streamed back.
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
	if err := checkLength(r, p.requestBytes, "an encrypted request for this plan"); err != nil {
		return err
	}
	if err := s.plans.beforeEvaluation(r.Context(), p); err != nil {
		return retryAfter(err, p.seconds)
	}
	release, err := s.budget.acquire(r.Context(), p.requestBytes+p.memory.Evaluation, "this evaluation")
	if err != nil {
		return retryAfter(err, p.seconds)
	}
	defer release()
	data := make([]byte, p.requestBytes)
	if err := s.readBody(w, r, data, "the encrypted request"); err != nil {
		return err
	}
	start := time.Now()
	s.metrics.evaluations.Inc()
	defer s.metrics.evaluations.Dec()
	in, err := wire.DecodeCiphertexts(data, wire.KindEncryptedBatch, &p.manifest, p.plan.Parameters())
	if err != nil {
		return err
	}
	data = nil // the ciphertexts are all the evaluation keeps
	annotate(w, slog.Int("images", in.Images))
	out, err := srv.Predict(r.Context(), in, nil)
	if err != nil {
		if r.Context().Err() != nil {
			return errs.New(errs.ErrLimit, "the client went away: evaluation cancelled: %w", r.Context().Err())
		}
		return err
	}
	size, err := out.PayloadSize(p.plan.Parameters())
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", httpapi.ContentType)
	h.Set("Content-Length", strconv.Itoa(wire.HeaderSize+size))
	h.Set(httpapi.HeaderPlan, p.fingerprint)
	h.Set(httpapi.HeaderImages, strconv.Itoa(out.Images))
	_ = http.NewResponseController(w).SetWriteDeadline(s.bodyDeadline(int64(wire.HeaderSize + size)))
	w.WriteHeader(http.StatusOK)
	if _, err := wire.WriteCiphertexts(w, wire.KindEncryptedResult, &p.manifest, p.plan.Parameters(), out); err != nil {
		return errs.New(errs.ErrIO, "writing the result: %w", err)
	}
	s.metrics.evaluation.WithLabelValues(m.name, string(p.manifest.Packing)).Observe(time.Since(start).Seconds())
	return nil
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
