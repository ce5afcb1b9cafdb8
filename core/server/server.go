// Package server evaluates a compiled model on encrypted images. A Server is built
// from a plan and the client's evaluation keys; no function here accepts, and no type
// here can hold, a secret key.
package server

import (
	"context"
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Server runs one plan for one client's keys. It is safe for concurrent use: each
// Predict call has its own evaluation state.
type Server struct {
	plan     packing.Plan
	manifest manifest.Manifest
	// keys are the evaluation keys the plan's manifest lists; Lattigo only reads
	// them, so evaluations may share them.
	keys *rlwe.MemEvaluationKeySet
}

// New checks that keys were made for the plan's parameters and hold exactly the
// keys its manifest lists, and returns a server.
func New(p packing.Plan, keys *wire.EvaluationKeys) (*Server, error) {
	if p == nil || keys == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "server: nil plan or keys")
	}
	m := p.Manifest()
	if err := keys.Check(&m, p.Parameters()); err != nil {
		return nil, err
	}
	return &Server{plan: p, manifest: m, keys: keys.KeySet()}, nil
}

// Manifest returns the public manifest clients need.
func (s *Server) Manifest() manifest.Manifest { return s.manifest }

// Plan returns the plan the server evaluates.
func (s *Server) Plan() packing.Plan { return s.plan }

// Predict evaluates the network on one encrypted batch (up to ImagesPerBatch images)
// and returns the encrypted logits. The batch's ciphertexts are consumed. A done ctx
// stops the evaluation with an error.
func (s *Server) Predict(ctx context.Context, in *wire.Ciphertexts, progress packing.Progress) (*wire.Ciphertexts, error) {
	if in == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "server: nil batch")
	}
	if in.Images < 1 || in.Images > s.manifest.ImagesPerBatch {
		return nil, errs.New(errs.ErrInvalidArgument, "server: batch of %d images, want 1 to %d", in.Images, s.manifest.ImagesPerBatch)
	}
	out, err := s.plan.Evaluate(ctx, in.Ciphertexts, s.keys, progress)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return &wire.Ciphertexts{Images: in.Images, Request: in.Request, Ciphertexts: out}, nil
}

// PredictBytes decodes a sealed encrypted batch, evaluates it and seals the result.
func (s *Server) PredictBytes(ctx context.Context, data []byte, progress packing.Progress) ([]byte, error) {
	in, err := wire.DecodeCiphertexts(data, wire.KindEncryptedBatch, &s.manifest, s.plan.Parameters())
	if err != nil {
		return nil, err
	}
	out, err := s.Predict(ctx, in, progress)
	if err != nil {
		return nil, err
	}
	return wire.EncodeCiphertexts(wire.KindEncryptedResult, &s.manifest, s.plan.Parameters(), out)
}
