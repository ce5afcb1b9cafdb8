package service

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
)

// model returns the served model a request's path names (404 if none).
func (s *Service) model(w http.ResponseWriter, r *http.Request) (*servedModel, error) {
	name := r.PathValue("name")
	m := s.byName[name]
	if m == nil {
		return nil, withStatus(http.StatusNotFound, errs.New(errs.ErrInvalidArgument, "no model named %q is served here", name))
	}
	annotate(w, slog.String("model", name))
	return m, nil
}

// modelInfo describes a model with its default plan of each packing.
func (s *Service) modelInfo(ctx context.Context, m *servedModel) (httpapi.Model, error) {
	info := httpapi.Model{Name: m.name, Model: m.model.Name, InputRange: m.model.InputRange,
		Input:  httpapi.Shape{Channels: m.model.Input.C, Height: m.model.Input.H, Width: m.model.Input.W},
		Source: m.model.Provenance.Source, Rewrites: m.model.Provenance.Rewrites}
	var failures []error
	for _, pk := range compile.Packings() {
		p, done, err := s.plans.forOptions(ctx, m, compile.Options{Packing: pk.Name()})
		if err != nil {
			failures = append(failures, err)
			continue
		}
		info.Outputs = p.manifest.Outputs
		info.Packings = append(info.Packings, packingInfo(p))
		done()
	}
	if len(info.Packings) == 0 {
		return info, errs.New(errs.ClassOf(failures[0]), "model %s: no packing compiles it: %v", m.name, failures)
	}
	return info, nil
}

// packingInfo describes a plan.
func packingInfo(p *plan) httpapi.Packing {
	return httpapi.Packing{Packing: string(p.manifest.Packing), Params: p.manifest.Params, Insecure: p.manifest.Insecure,
		Plan: p.fingerprint, ImagesPerRequest: p.manifest.ImagesPerBatch, RequestBytes: p.requestBytes,
		KeyBytes: p.keyBytes, NeedsKeys: needsKeys(&p.manifest), EvaluationSeconds: p.seconds,
		EvaluationBytes: p.requestBytes + p.memory.Evaluation}
}

func (s *Service) handleModels(w http.ResponseWriter, r *http.Request, _ Token) error {
	var out httpapi.Models
	for _, m := range s.models {
		info, err := s.modelInfo(r.Context(), m)
		if err != nil {
			return err
		}
		out.Models = append(out.Models, info)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) handleModel(w http.ResponseWriter, r *http.Request, _ Token) error {
	m, err := s.model(w, r)
	if err != nil {
		return err
	}
	info, err := s.modelInfo(r.Context(), m)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// handleManifest answers the sealed manifest of the plan the query asks for
// (packing, expect, params), compiling it if needed.
func (s *Service) handleManifest(w http.ResponseWriter, r *http.Request, _ Token) error {
	m, err := s.model(w, r)
	if err != nil {
		return err
	}
	opts, err := planOptions(r)
	if err != nil {
		return err
	}
	p, done, err := s.plans.forOptions(r.Context(), m, opts)
	if err != nil {
		return err
	}
	defer done()
	annotate(w, slog.String("packing", string(p.manifest.Packing)), slog.String("plan", p.fingerprint))
	h := w.Header()
	h.Set("Content-Type", httpapi.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(p.sealed)))
	h.Set(httpapi.HeaderPlan, p.fingerprint)
	h.Set(httpapi.HeaderNeedsKeys, strconv.FormatBool(needsKeys(&p.manifest)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(p.sealed)
	return err
}
