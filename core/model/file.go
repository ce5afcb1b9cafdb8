package model

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/cbor"
)

// FileVersion is the version of the model file format written by this package.
const FileVersion = 1

// MaxFileSize bounds the size of a model file that Read accepts.
const MaxFileSize = 1 << 30

const fileMagic = "cryptonets-model"

type fileRecord struct {
	Magic      string        `codec:"magic"`
	Version    int           `codec:"version"`
	Name       string        `codec:"name"`
	Input      Shape         `codec:"input"`
	InputRange [2]float64    `codec:"input_range"`
	Layers     []layerRecord `codec:"layers"`
	Provenance Provenance    `codec:"provenance"`
	// Fields added since are optional: files written before them read unchanged.
	ChannelRanges [][2]float64   `codec:"channel_ranges,omitempty"`
	Preprocessing *Normalization `codec:"preprocessing,omitempty"`
	Calibration   *Calibration   `codec:"calibration,omitempty"`
}

// layerRecord is the tagged union a layer is stored as.
type layerRecord struct {
	Kind       Kind        `codec:"kind"`
	Conv2D     *Conv2D     `codec:"conv2d,omitempty"`
	Dense      *Dense      `codec:"dense,omitempty"`
	SumPool    *SumPool    `codec:"sumpool,omitempty"`
	Polynomial *Polynomial `codec:"polynomial,omitempty"`
	// Kinds added since are new tags (with a body when they have fields): files
	// written before them read unchanged, and the format version stays 1.
	ChannelAffine *ChannelAffine `codec:"channel_affine,omitempty"`
	MaxPool       *MaxPool       `codec:"maxpool,omitempty"`
	Reshape       *Reshape       `codec:"reshape,omitempty"`
}

func toRecord(l Layer) layerRecord {
	r := layerRecord{Kind: l.Kind()}
	switch l := l.(type) {
	case *Conv2D:
		r.Conv2D = l
	case *Dense:
		r.Dense = l
	case *SumPool:
		r.SumPool = l
	case *Polynomial:
		r.Polynomial = l
	case *ChannelAffine:
		r.ChannelAffine = l
	case *MaxPool:
		r.MaxPool = l
	case *Reshape:
		r.Reshape = l
	}
	return r
}

func (r layerRecord) layer() (Layer, error) {
	var l Layer
	switch r.Kind {
	case KindConv2D:
		l = r.Conv2D
	case KindDense:
		l = r.Dense
	case KindSumPool:
		l = r.SumPool
	case KindPolynomial:
		l = r.Polynomial
	case KindChannelAffine:
		l = r.ChannelAffine
	case KindMaxPool:
		l = r.MaxPool
	case KindReshape:
		l = r.Reshape
	case KindLogSoftmax:
		return LogSoftmax{}, nil
	case KindFlatten:
		return Flatten{}, nil
	case KindSquare:
		return Square{}, nil
	case KindSoftmax:
		return Softmax{}, nil
	default:
		if isNamedActivation(r.Kind) {
			return NamedActivation{Func: string(r.Kind)}, nil
		}
		return nil, errs.New(errs.ErrMalformed, "unknown layer kind %q", r.Kind)
	}
	if isNil(l) {
		return nil, errs.New(errs.ErrMalformed, "layer of kind %q has no body", r.Kind)
	}
	return l, nil
}

func isNil(l Layer) bool {
	switch l := l.(type) {
	case *Conv2D:
		return l == nil
	case *Dense:
		return l == nil
	case *SumPool:
		return l == nil
	case *Polynomial:
		return l == nil
	case *ChannelAffine:
		return l == nil
	case *MaxPool:
		return l == nil
	case *Reshape:
		return l == nil
	}
	return l == nil
}

// MarshalBinary encodes the model in the versioned CBOR model file format.
func (m *Model) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	rec := fileRecord{Magic: fileMagic, Version: FileVersion, Name: m.Name, Input: m.Input,
		InputRange: m.InputRange, Provenance: m.Provenance, ChannelRanges: m.ChannelRanges,
		Preprocessing: m.Preprocessing, Calibration: m.Calibration}
	for _, l := range m.Layers {
		rec.Layers = append(rec.Layers, toRecord(l))
	}
	return cbor.Marshal(rec)
}

// UnmarshalBinary decodes and validates a model file.
func (m *Model) UnmarshalBinary(data []byte) error {
	var rec fileRecord
	if err := cbor.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("model file: %w", err)
	}
	if rec.Magic != fileMagic {
		return errs.New(errs.ErrMalformed, "model file: not a cryptonets model (magic %q)", rec.Magic)
	}
	if rec.Version != FileVersion {
		return errs.New(errs.ErrMalformed, "model file: format version %d, this library reads version %d", rec.Version, FileVersion)
	}
	out := Model{Name: rec.Name, Input: rec.Input, InputRange: rec.InputRange, Provenance: rec.Provenance,
		ChannelRanges: rec.ChannelRanges, Preprocessing: rec.Preprocessing, Calibration: rec.Calibration}
	for i, r := range rec.Layers {
		l, err := r.layer()
		if err != nil {
			return errs.New(errs.ErrMalformed, "model file: layer %d: %w", i, err)
		}
		out.Layers = append(out.Layers, l)
	}
	if err := out.Validate(); err != nil {
		if errors.Is(err, errs.ErrLimit) {
			return fmt.Errorf("model file: %w", err)
		}
		return errs.New(errs.ErrMalformed, "model file: %w", err)
	}
	*m = out
	return nil
}

// Read decodes a model file from r (at most MaxFileSize bytes).
func Read(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, errs.New(errs.ErrIO, "model file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, errs.New(errs.ErrLimit, "model file: larger than %d bytes", MaxFileSize)
	}
	m := new(Model)
	if err := m.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return m, nil
}

// Load reads a model file from disk.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "model file: %w", err)
	}
	defer f.Close()
	m, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Save writes the model file to path atomically: a reader never sees half a file.
func (m *Model) Save(path string) error {
	data, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cnm-*")
	if err != nil {
		return errs.New(errs.ErrIO, "model file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return errs.New(errs.ErrIO, "model file: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return errs.New(errs.ErrIO, "model file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return errs.New(errs.ErrIO, "model file: %w", err)
	}
	return errs.Wrap(errs.ErrIO, os.Rename(tmp.Name(), path))
}
