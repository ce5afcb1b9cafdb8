package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/workers"
)

// Calibration is what calibration inputs showed of a network's values: at the input
// of each of its activations, the basis of calibration-based bounds, which hold for
// inputs like the calibration inputs and detect the others (see package batch); and
// for each layer, how large its outputs are and how much an error in them moves the
// network's outputs, the basis of precision plans.
type Calibration struct {
	// Images is the number of calibration inputs.
	Images int `codec:"images"`
	// Points describe the input of each activation layer, in layer order.
	Points []CalibrationPoint `codec:"points"`
	// Peak[l] is the largest |value| after layer l on the calibration inputs.
	Peak []float64 `codec:"peak,omitempty"`
	// Gain[l] is the largest change of an output of the network per unit of a small
	// random error (independent, of standard deviation 1) in every value after layer
	// l, measured on calibration inputs: how errors after layer l reach the logits.
	Gain []float64 `codec:"gain,omitempty"`
}

// CalibrationPoint describes the values x_i entering one activation layer on the
// calibration inputs.
type CalibrationPoint struct {
	// Layer is the index of the activation layer.
	Layer int `codec:"layer"`
	// Scale is a positive normalizer s_i per value: the largest |x_i| seen, raised to
	// at least ScaleFloor of the layer's largest, so that no value's normalized square
	// (x_i/s_i)² is large merely because calibration never moved it.
	Scale []float64 `codec:"scale"`
	// Energy is the largest mean_i (x_i/s_i)² over the calibration inputs.
	Energy float64 `codec:"energy"`
}

// ScaleFloor is the smallest CalibrationPoint.Scale relative to the largest of its
// layer.
const ScaleFloor = 0.1

// Calibrate runs the network on the inputs and records, at the input of every
// activation layer, the largest magnitude of each value and the largest normalized
// energy (see CalibrationPoint).
func Calibrate(m *Model, inputs [][]float64) (*Calibration, error) {
	if len(inputs) == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "model: no calibration inputs")
	}
	ref, err := NewReference(m)
	if err != nil {
		return nil, err
	}
	// First pass: the largest |x_i| at each activation.
	var mu sync.Mutex
	maxima := map[int][]float64{}
	err = workers.Run(len(inputs), runtime.GOMAXPROCS(0), func(_, k int) error {
		local := map[int][]float64{}
		_, err := ref.Trace(inputs[k], func(layer int, x []float64) {
			local[layer] = append([]float64(nil), x...)
		})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for layer, x := range local {
			mx := maxima[layer]
			if mx == nil {
				mx = make([]float64, len(x))
				maxima[layer] = mx
			}
			for i, v := range x {
				mx[i] = math.Max(mx[i], math.Abs(v))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cal := &Calibration{Images: len(inputs)}
	index := map[int]int{}
	for _, st := range ref.stages {
		mx, ok := maxima[st.Layer]
		if st.Activation == nil || !ok {
			continue
		}
		index[st.Layer] = len(cal.Points)
		cal.Points = append(cal.Points, CalibrationPoint{Layer: st.Layer, Scale: floored(mx)})
	}
	// Second pass: the largest normalized energy at each activation.
	err = workers.Run(len(inputs), runtime.GOMAXPROCS(0), func(_, k int) error {
		energies := map[int]float64{}
		_, err := ref.Trace(inputs[k], func(layer int, x []float64) {
			energies[layer] = cal.Points[index[layer]].energy(x)
		})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for layer, e := range energies {
			p := &cal.Points[index[layer]]
			p.Energy = math.Max(p.Energy, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cal.Peak, cal.Gain, err = sensitivities(m, inputs); err != nil {
		return nil, err
	}
	return cal, nil
}

// Sensitivity measurement: gainInputs calibration inputs, each with gainTrials
// Gaussian errors of relative size gainEpsilon added after a layer.
const (
	gainInputs  = 64
	gainTrials  = 2
	gainEpsilon = 1e-6
)

// sensitivities returns, for every layer, the largest |value| after it on all the
// inputs, and its Gain on the first gainInputs of them (seeded: the same inputs give
// the same figures).
func sensitivities(m *Model, inputs [][]float64) (peak, gain []float64, err error) {
	ref, err := NewReference(m)
	if err != nil {
		return nil, nil, err
	}
	peak = make([]float64, len(m.Layers))
	gain = make([]float64, len(m.Layers))
	var mu sync.Mutex
	err = workers.Run(len(inputs), runtime.GOMAXPROCS(0), func(_, k int) error {
		after := ref.afterEach(inputs[k])
		local := make([]float64, len(m.Layers))
		for l, v := range after {
			for _, x := range v {
				local[l] = math.Max(local[l], math.Abs(x))
			}
		}
		var localGain []float64
		if k < gainInputs {
			localGain = ref.gains(after, k)
		}
		mu.Lock()
		defer mu.Unlock()
		for l := range peak {
			peak[l] = math.Max(peak[l], local[l])
			if localGain != nil {
				gain[l] = math.Max(gain[l], localGain[l])
			}
		}
		return nil
	})
	return peak, gain, err
}

// afterEach returns the values after every layer (a Flatten's or Reshape's are those
// of the layer before it).
func (r *Reference) afterEach(x []float64) [][]float64 {
	out := make([][]float64, r.layers)
	next := 0
	for _, st := range r.stages {
		for next < st.Layer {
			out[next] = x
			next++
		}
		x = r.apply(st, x)
		out[st.Layer] = x
		next = st.Layer + 1
	}
	for ; next < r.layers; next++ {
		out[next] = x
	}
	return out
}

// gains returns, for every layer, the largest change of an output per unit of a
// seeded Gaussian error added to every value after that layer.
func (r *Reference) gains(after [][]float64, seed int) []float64 {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	clean := after[len(after)-1]
	out := make([]float64, r.layers)
	for l := range r.layers - 1 {
		scale := 0.0
		for _, v := range after[l] {
			scale = math.Max(scale, math.Abs(v))
		}
		eps := gainEpsilon * math.Max(scale, 1)
		for range gainTrials {
			x := make([]float64, len(after[l]))
			for i, v := range after[l] {
				x[i] = v + eps*rng.NormFloat64()
			}
			for _, st := range r.stages {
				if st.Layer > l {
					x = r.apply(st, x)
				}
			}
			for j, v := range x {
				out[l] = math.Max(out[l], math.Abs(v-clean[j])/eps)
			}
		}
	}
	out[r.layers-1] = 1
	return out
}

// floored returns the magnitudes raised to at least ScaleFloor of the largest (and
// to a tiny positive value if all are zero).
func floored(mx []float64) []float64 {
	top := 0.0
	for _, v := range mx {
		top = math.Max(top, v)
	}
	floor := math.Max(ScaleFloor*top, 1e-12)
	out := make([]float64, len(mx))
	for i, v := range mx {
		out[i] = math.Max(v, floor)
	}
	return out
}

// energy returns mean_i (x_i/s_i)².
func (p *CalibrationPoint) energy(x []float64) float64 {
	s := 0.0
	for i, v := range x {
		r := v / p.Scale[i]
		s += r * r
	}
	return s / float64(len(x))
}

// Point returns the calibration of the input of activation layer i, nil if none.
func (c *Calibration) Point(layer int) *CalibrationPoint {
	if c == nil {
		return nil
	}
	for k := range c.Points {
		if c.Points[k].Layer == layer {
			return &c.Points[k]
		}
	}
	return nil
}

// validate checks the calibration against the model it belongs to.
func (c *Calibration) validate(m *Model) error {
	shapes, err := m.Shapes()
	if err != nil {
		return err
	}
	prev := -1
	for k, p := range c.Points {
		if p.Layer <= prev || p.Layer >= len(m.Layers) {
			return errs.New(errs.ErrInvalidArgument, "model: calibration point %d names layer %d", k, p.Layer)
		}
		prev = p.Layer
		if _, ok := m.Layers[p.Layer].(Activation); !ok {
			return errs.New(errs.ErrInvalidArgument, "model: calibration point %d: layer %d is not an activation", k, p.Layer)
		}
		if len(p.Scale) != shapes[p.Layer].Size() {
			return errs.New(errs.ErrInvalidArgument, "model: calibration point %d has %d scales for %d values", k, len(p.Scale), shapes[p.Layer].Size())
		}
		for _, s := range p.Scale {
			if !(s > 0) || !finite(s) {
				return errs.New(errs.ErrInvalidArgument, "model: calibration point %d has a scale %g", k, s)
			}
		}
		if !(p.Energy >= 0) || !finite(p.Energy) {
			return errs.New(errs.ErrInvalidArgument, "model: calibration point %d has energy %g", k, p.Energy)
		}
	}
	for _, v := range [][]float64{c.Peak, c.Gain} {
		if len(v) != 0 && len(v) != len(m.Layers) || !allFinite(v) {
			return errs.New(errs.ErrInvalidArgument, "model: calibration has %d peaks and %d gains for %d layers", len(c.Peak), len(c.Gain), len(m.Layers))
		}
	}
	return nil
}

// Gains returns Gain, or nil for a calibration without it.
func (c *Calibration) Gains() []float64 {
	if c == nil {
		return nil
	}
	return c.Gain
}
