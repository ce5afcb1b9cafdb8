package service

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/wire"
)

// headBytes bounds the front of uploaded keys (envelope and manifest): the memory
// reserved to read it, and the deadline for it to arrive.
const headBytes = 16 << 20

// handlePutKeys stores sealed evaluation keys: it reads their envelope and manifest
// (at most headBytes, reserved meanwhile), finds the plan they were made for (409 if no served model has it), checks the
// exact length and the token's quota before reading the rest, reserves the memory
// of the keys, decodes them (every check of wire.DecodeEvaluationKeys), stores them
// under their digest and keeps them decoded in the cache. Uploading stored keys again
// changes nothing (200 instead of 201).
func (s *Service) handlePutKeys(w http.ResponseWriter, r *http.Request, tok Token) error {
	leave, err := s.inFlight.enter(tok)
	if err != nil {
		return err
	}
	defer leave()
	if r.ContentLength > s.cfg.MaxKeyBytes {
		return withStatus(http.StatusRequestEntityTooLarge, errs.New(errs.ErrLimit, "Content-Length %d: this server takes evaluation keys of up to %d bytes", r.ContentLength, s.cfg.MaxKeyBytes))
	}
	releaseHead, err := s.budget.acquire(r.Context(), headBytes, "reading the keys' manifest")
	if err != nil {
		return retryAfter(err, 1)
	}
	_ = http.NewResponseController(w).SetReadDeadline(s.bodyDeadline(headBytes))
	head, man, size, err := wire.ReadEvaluationKeysHead(io.LimitReader(r.Body, headBytes))
	releaseHead()
	if err != nil {
		return headError(err, "the evaluation keys' envelope and manifest")
	}
	if size > s.cfg.MaxKeyBytes {
		return withStatus(http.StatusRequestEntityTooLarge, errs.New(errs.ErrLimit, "the keys of this plan take %d bytes; this server takes up to %d", size, s.cfg.MaxKeyBytes))
	}
	if err := checkLength(r, size, "sealed evaluation keys for this plan"); err != nil {
		return err
	}
	p, planDone, err := s.plans.forManifest(r.Context(), s.models, man)
	if err != nil {
		return err
	}
	defer func() {
		if planDone != nil {
			planDone()
		}
	}()
	annotate(w, slog.String("model", p.model.name), slog.String("packing", string(p.manifest.Packing)), slog.Int64("key_bytes", size))
	if q := tok.Quota.KeyBytes; q > 0 {
		used, err := s.cfg.Store.Usage(r.Context(), tok.Name)
		if err != nil {
			return err
		}
		if used+size > q {
			return withStatus(http.StatusRequestEntityTooLarge, errs.New(errs.ErrLimit, "these keys (%s) would take this token's stored keys to %s, over its quota of %s (DELETE /v1/keys/{id} frees some)", byteSize(size), byteSize(used+size), byteSize(q)))
		}
	}
	decoded, err := wire.EvaluationKeysMemory(man)
	if err != nil {
		return err
	}
	release, err := s.budget.acquire(r.Context(), size+decoded, "uploading evaluation keys")
	if err != nil {
		return retryAfter(err, 1)
	}
	defer release()
	data := make([]byte, size)
	copy(data, head)
	if err := s.readBody(w, r, data[len(head):], "the evaluation keys", true); err != nil {
		return err
	}
	id := keystore.Sum(data)
	annotate(w, slog.String("key_id", id.String()))
	e, err := decodeKeys(p, data)
	if err != nil {
		return err
	}
	created, err := s.cfg.Store.Put(r.Context(), tok.Name, id, data)
	if err != nil {
		return err
	}
	e.owner, e.id, e.planDone = tok.Name, id, planDone
	planDone = nil // the cache entry ends the plan's use now
	s.keys.put(e)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, httpapi.Key{ID: id.String(), Bytes: size, Model: p.model.name, Packing: string(p.manifest.Packing),
		Params: p.manifest.Params, Plan: p.fingerprint, Created: created})
	return nil
}

// keyID reads the key id of a request's path.
func keyID(w http.ResponseWriter, r *http.Request) (keystore.ID, error) {
	id, err := keystore.ParseID(r.PathValue("id"))
	if err == nil {
		annotate(w, slog.String("key_id", id.String()))
	}
	return id, err
}

// handleGetKey tells whether the token has keys of that id (404 if not) and their
// length; HEAD asks the same without a body.
func (s *Service) handleGetKey(w http.ResponseWriter, r *http.Request, tok Token) error {
	id, err := keyID(w, r)
	if err != nil {
		return err
	}
	size, err := s.cfg.Store.Size(r.Context(), tok.Name, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, httpapi.Key{ID: id.String(), Bytes: size})
	return nil
}

// handleDeleteKey removes the token's keys of that id from the store and the cache.
func (s *Service) handleDeleteKey(w http.ResponseWriter, r *http.Request, tok Token) error {
	id, err := keyID(w, r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Delete(r.Context(), tok.Name, id); err != nil {
		return err
	}
	s.keys.remove(tok.Name, id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
