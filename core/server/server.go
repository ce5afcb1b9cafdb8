// Package server evaluates a compiled model on encrypted images. A Server is built
// from a plan and the client's evaluation keys; no function here accepts, and no type
// here can hold, a secret key.
package server

import (
	"errors"
	"fmt"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Server runs one plan for one client's keys. It is safe for concurrent use: each
// Predict call has its own evaluation state.
type Server struct {
	plan     *compile.Plan
	manifest manifest.Manifest
	// keys are the relinearization and Galois keys a single-image plan uses; Lattigo
	// only reads them, so evaluations may share them.
	keys *rlwe.MemEvaluationKeySet
}

// New checks that keys were made for the plan's parameters and hold exactly the
// keys its manifest lists, and returns a server.
func New(p *compile.Plan, keys *wire.EvaluationKeys) (*Server, error) {
	if p == nil || keys == nil {
		return nil, errors.New("server: nil plan or keys")
	}
	m := p.Manifest()
	if err := keys.Check(&m, p.Parameters()); err != nil {
		return nil, err
	}
	return &Server{plan: p, manifest: m, keys: keys.KeySet()}, nil
}

// Manifest returns the public manifest clients need.
func (s *Server) Manifest() manifest.Manifest { return s.manifest }

// Predict evaluates the network on one encrypted batch (up to ImagesPerBatch images)
// and returns the encrypted logits. The batch's ciphertexts are consumed.
func (s *Server) Predict(in *wire.Ciphertexts, progress batch.Progress) (*wire.Ciphertexts, error) {
	if in == nil {
		return nil, errors.New("server: nil batch")
	}
	if in.Images < 1 || in.Images > s.manifest.ImagesPerBatch {
		return nil, fmt.Errorf("server: batch of %d images, want 1 to %d", in.Images, s.manifest.ImagesPerBatch)
	}
	var (
		out []*rlwe.Ciphertext
		err error
	)
	if sp := s.plan.Single(); sp != nil {
		out, err = sp.Evaluate(in.Ciphertexts, s.keys)
	} else {
		out, err = s.plan.Batch().Evaluate(in.Ciphertexts, progress)
	}
	if err != nil {
		return nil, err
	}
	return &wire.Ciphertexts{Images: in.Images, Ciphertexts: out}, nil
}

// PredictBytes decodes a sealed encrypted batch, evaluates it and seals the result.
func (s *Server) PredictBytes(data []byte, progress batch.Progress) ([]byte, error) {
	in, err := wire.DecodeCiphertexts(data, wire.KindEncryptedBatch, &s.manifest, s.plan.Parameters())
	if err != nil {
		return nil, err
	}
	out, err := s.Predict(in, progress)
	if err != nil {
		return nil, err
	}
	return wire.EncodeCiphertexts(wire.KindEncryptedResult, &s.manifest, s.plan.Parameters(), out)
}
