package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// inspectReport is the output of inspect: what a file is and what it holds. For a
// secret key it holds only the kind, the parameter fingerprint and the size.
type inspectReport struct {
	File        string           `json:"file"`
	Bytes       int64            `json:"bytes"`
	What        string           `json:"what"`
	Envelope    *envelopeInfo    `json:"envelope,omitempty"`
	Manifest    *manifestInfo    `json:"manifest,omitempty"`
	Sequence    *sequenceInfo    `json:"sequence,omitempty"`
	Ciphertexts *ciphertextsInfo `json:"ciphertexts,omitempty"`
	Keys        *keysInfo        `json:"keys,omitempty"`
	Model       *modelInfo       `json:"model,omitempty"`
	Note        string           `json:"note,omitempty"`
}

// envelopeInfo is the header of a wire envelope.
type envelopeInfo struct {
	Kind              string `json:"kind"`
	Version           int    `json:"version"`
	ParamsFingerprint string `json:"params_fingerprint"`
	// Params names the preset with that fingerprint, if it is one of ours.
	Params          string `json:"params,omitempty"`
	LogN            int    `json:"log_n,omitempty"`
	PlanFingerprint string `json:"plan_fingerprint,omitempty"`
	PayloadBytes    uint64 `json:"payload_bytes"`
}

// keysInfo says which evaluation keys a file holds (those its manifest lists).
type keysInfo struct {
	Relinearization bool `json:"relinearization"`
	Galois          int  `json:"galois"`
}

// sequenceInfo describes an upload or download of several requests.
type sequenceInfo struct {
	Requests int `json:"requests"`
	Images   int `json:"images"`
	// RequestBytes are the sizes of the requests' envelopes.
	RequestBytes []int `json:"request_bytes"`
}

// ciphertextsInfo is the header of an encrypted batch or result payload.
type ciphertextsInfo struct {
	Images int `json:"images"`
	// Request is the identifier of the request (a result names its batch's).
	Request     string  `json:"request"`
	Count       int     `json:"count"`
	Degree      int     `json:"degree"`
	Level       int     `json:"level"`
	LogScale    float64 `json:"log_scale"`
	BytesPerCt  int64   `json:"bytes_per_ciphertext,omitempty"`
	PerImage    float64 `json:"bytes_per_image"`
	LengthValid *bool   `json:"length_valid,omitempty"`
}

// runInspect is the inspect command.
func runInspect(c *cli, args []string) error {
	fs := c.flags("FILE [--json]", `
Describes any cryptonets file: a wire envelope (manifest, evaluation keys, encrypted
batch or result, secret key), a converted model (.cnm) or an ONNX network. Never
prints key material: for a secret key, only its kind, parameters and size.`)
	out := outputFlags(fs)
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	data, err := readFile(pos[0], "file")
	if err != nil {
		return err
	}
	rep, err := inspect(pos[0], data)
	if err != nil {
		return err
	}
	return c.emit(out, rep)
}

// inspect identifies data and describes it.
func inspect(path string, data []byte) (*inspectReport, error) {
	rep := &inspectReport{File: path, Bytes: int64(len(data))}
	if h, err := wire.PeekHeader(data); err == nil && (h.Kind == wire.KindBatchSequence || h.Kind == wire.KindResultSequence) {
		return rep, inspectSequence(rep, data)
	}
	h, err := wire.Peek(data)
	switch {
	case err == nil:
		return rep, inspectEnvelope(rep, h, data)
	case bytes.HasPrefix(data, []byte(wire.Magic)):
		return nil, fmt.Errorf("%s: damaged envelope: %w", path, err)
	}
	if !strings.EqualFold(filepath.Ext(path), ".onnx") {
		if m, merr := model.Read(bytes.NewReader(data)); merr == nil {
			rep.What = fmt.Sprintf("converted model (model file v%d)", model.FileVersion)
			rep.Model, err = describe(m)
			return rep, err
		} else if strings.EqualFold(filepath.Ext(path), ".cnm") {
			return nil, fmt.Errorf("%s: %w", path, merr)
		}
	}
	m, err := onnx.Import(data)
	if err != nil {
		if strings.EqualFold(filepath.Ext(path), ".onnx") {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, errs.New(errs.ErrInvalidArgument, "%s: not a cryptonets file (neither an envelope, a .cnm model nor an ONNX network)", path)
	}
	rep.What = "ONNX network (not converted)"
	if rep.Model, err = describe(m); err != nil {
		return nil, err
	}
	dst := strings.TrimSuffix(path, filepath.Ext(path)) + ".cnm"
	rep.Note = fmt.Sprintf("to evaluate it on encrypted data, run: cryptonets convert %s -o %s", path, dst)
	return rep, nil
}

// inspectEnvelope describes an envelope whose header h is valid.
func inspectEnvelope(rep *inspectReport, h wire.Header, data []byte) error {
	rep.What = h.Kind.String()
	env := &envelopeInfo{Kind: h.Kind.String(), Version: wire.Version, ParamsFingerprint: h.Params.String(), PayloadBytes: h.PayloadLen}
	if h.Plan != [32]byte{} {
		env.PlanFingerprint = hex.EncodeToString(h.Plan[:])
	}
	var prm *hefloat.Parameters
	if p, ok := params.ByFingerprint(h.Params); ok {
		if known, err := p.Parameters(); err == nil {
			prm = &known
			env.Params, env.LogN = p.Name, known.LogN()
		}
	}
	rep.Envelope = env
	switch h.Kind {
	case wire.KindManifest:
		m, err := wire.DecodeManifest(data)
		if err != nil {
			return fmt.Errorf("%s: %w", rep.File, err)
		}
		rep.Manifest, err = describeManifest(m)
		return err
	case wire.KindEncryptedBatch, wire.KindEncryptedResult:
		ci, err := ciphertextsHeader(data, prm)
		if err != nil {
			return fmt.Errorf("%s: %w", rep.File, err)
		}
		rep.Ciphertexts = ci
	case wire.KindEvaluationKeys:
		// The keys carry the manifest they were made for: it lists exactly the keys.
		m, err := wire.EvaluationKeysManifest(data)
		if err != nil {
			return fmt.Errorf("%s: %w", rep.File, err)
		}
		if rep.Manifest, err = describeManifest(m); err != nil {
			return err
		}
		rep.Keys = &keysInfo{Relinearization: m.Relinearize, Galois: len(m.GaloisElements)}
	case wire.KindSecretKey:
		rep.Note = "secret key: keep it on the client, never send it; its content is not shown"
	}
	return nil
}

// inspectSequence describes a sequence of requests (or results), and the ciphertexts
// of its first request.
func inspectSequence(rep *inspectReport, data []byte) error {
	h, seq, err := wire.PeekSequence(data)
	if err != nil {
		return fmt.Errorf("%s: %w", rep.File, err)
	}
	first, _ := wire.PeekHeader(seq.Entries[0])
	if err := inspectEnvelope(rep, first, seq.Entries[0]); err != nil {
		return err
	}
	rep.What = h.Kind.String()
	rep.Envelope.Kind, rep.Envelope.PayloadBytes = h.Kind.String(), h.PayloadLen
	rep.Sequence = &sequenceInfo{Requests: seq.Requests, Images: seq.Images}
	for _, e := range seq.Entries {
		rep.Sequence.RequestBytes = append(rep.Sequence.RequestBytes, len(e))
	}
	return nil
}

// ciphertextsHeader describes an encrypted batch or result envelope. With known
// parameters prm it also checks the payload's exact length.
func ciphertextsHeader(data []byte, prm *hefloat.Parameters) (*ciphertextsInfo, error) {
	_, c, err := wire.PeekCiphertexts(data)
	if err != nil {
		return nil, err
	}
	ci := &ciphertextsInfo{Images: c.Images, Request: hex.EncodeToString(c.Request.ID[:]), Count: c.Count, Degree: c.Degree,
		Level: c.Level, LogScale: round(c.LogScale, 4)}
	if ci.Images > 0 {
		ci.PerImage = round(float64(len(data))/float64(ci.Images), 1)
	}
	if prm != nil {
		polys := ci.Degree + 1
		if c.Seeded {
			polys = 1 // c1 is regenerated from the batch seed
		}
		ci.BytesPerCt = int64(polys) * int64(wire.PolyBytes(*prm, ci.Level))
		valid := c.WellFormed(*prm)
		ci.LengthValid = &valid
	}
	return ci, nil
}

// writeText implements report.
func (r *inspectReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s: %s, %s\n", r.File, r.What, byteSize(r.Bytes))
	if e := r.Envelope; e != nil {
		t := newTable(w)
		t.row("envelope", "version %d, kind %s, payload %d bytes", e.Version, e.Kind, e.PayloadBytes)
		name := "unknown parameter set"
		if e.Params != "" {
			name = fmt.Sprintf("%s (log N = %d)", e.Params, e.LogN)
		}
		t.row("parameters", "%s, fingerprint %s", name, e.ParamsFingerprint)
		if e.PlanFingerprint != "" {
			t.row("plan fingerprint", "%s", e.PlanFingerprint)
		}
		if sq := r.Sequence; sq != nil {
			t.row("sequence", "%d requests, %d images in all; the first request:", sq.Requests, sq.Images)
		}
		if ci := r.Ciphertexts; ci != nil {
			t.row("ciphertexts", "%d of degree %d at level %d, scale 2^%.2f", ci.Count, ci.Degree, ci.Level, ci.LogScale)
			t.row("images", "%d (%s per image)", ci.Images, byteSize(int64(ci.PerImage)))
			t.row("request", "%s", ci.Request)
			if ci.LengthValid != nil {
				ok := "exact"
				if !*ci.LengthValid {
					ok = "WRONG (truncated or corrupted)"
				}
				t.row("payload length", "%s", ok)
			}
		}
		if k := r.Keys; k != nil {
			t.row("keys", "relinearization %v, %d Galois keys (those the manifest below lists)", k.Relinearization, k.Galois)
		}
		t.flush()
	}
	if r.Manifest != nil {
		r.Manifest.writeText(w)
	}
	if r.Model != nil {
		fmt.Fprintf(w, "  model %q, input %s, %d layers:\n", r.Model.Name, r.Model.Input, len(r.Model.Layers))
		writeLayers(w, r.Model)
		if p := r.Model.Provenance; p.Source != "" {
			fmt.Fprintf(w, "  provenance: %s (sha256 %s); rewrites: %s\n", p.Source, p.SourceSHA256, strings.Join(p.Rewrites, "; "))
		}
	}
	if r.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", r.Note)
	}
}
