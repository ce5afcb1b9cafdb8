// Package server evaluates a compiled model on encrypted images. A Server is built
// from a plan and the client's evaluation keys; no function here accepts, and no type
// here can hold, a secret key.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

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
// and returns the encrypted logits. Predict takes the batch over: the evaluation reuses
// its ciphertexts' memory, so the caller must not use in afterwards (evaluate
// in.Clone() to keep it; the C and Python servers do). A done ctx
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

// PredictAll evaluates the requests of one upload in order and returns their results.
// Like Predict, it takes the requests over.
func (s *Server) PredictAll(ctx context.Context, in []*wire.Ciphertexts, progress packing.Progress) ([]*wire.Ciphertexts, error) {
	out := make([]*wire.Ciphertexts, len(in))
	for i, req := range in {
		res, err := s.Predict(ctx, req, requestProgress(progress, i+1, len(in)))
		if err != nil {
			return nil, fmt.Errorf("request %d of %d: %w", i+1, len(in), err)
		}
		out[i] = res
	}
	return out, nil
}

// Stats describe one upload that PredictStream served.
type Stats struct {
	Requests, Images  int
	InBytes, OutBytes int64
	// EvaluateSeconds is the time the evaluations took (Predict); OpenSealSeconds the
	// time spent reading and opening the requests and sealing and writing the results.
	EvaluateSeconds, OpenSealSeconds float64
}

// PredictStream reads one upload from r (a single request's envelope or a sequence:
// wire.SequenceReader), evaluates each request as it arrives, and writes the results
// to w in the same form and order. Only one request is in memory at a time. It reads
// nothing past the upload, so uploads may follow each other on one stream; it returns
// io.EOF if r is at its end.
func (s *Server) PredictStream(ctx context.Context, r io.Reader, w io.Writer, progress packing.Progress) (Stats, error) {
	var st Stats
	prm := s.plan.Parameters()
	sr, err := wire.NewSequenceReader(r, wire.KindEncryptedBatch, &s.manifest, prm)
	if err != nil {
		return st, err
	}
	sw, err := wire.NewSequenceWriter(w, wire.KindEncryptedResult, &s.manifest, prm, sr.Requests(), sr.Images())
	if err != nil {
		return st, err
	}
	for {
		start := time.Now()
		req, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
		opened := time.Now()
		res, err := s.Predict(ctx, req, requestProgress(progress, st.Requests+1, sr.Requests()))
		if err != nil {
			return st, fmt.Errorf("request %d of %d: %w", st.Requests+1, sr.Requests(), err)
		}
		evaluated := time.Now()
		if err := sw.Write(res); err != nil {
			return st, err
		}
		st.EvaluateSeconds += evaluated.Sub(opened).Seconds()
		st.OpenSealSeconds += opened.Sub(start).Seconds() + time.Since(evaluated).Seconds()
		st.Requests++
		st.Images += res.Images
	}
	st.InBytes, st.OutBytes = sr.Bytes(), sw.Bytes()
	return st, sw.Close()
}

// requestProgress reports the progress of request i of n as p's.
func requestProgress(p packing.Progress, i, n int) packing.Progress {
	if p == nil || n == 1 {
		return p
	}
	return func(what string, done, total int) {
		p.Report(fmt.Sprintf("%s (request %d/%d)", what, i, n), done, total)
	}
}
