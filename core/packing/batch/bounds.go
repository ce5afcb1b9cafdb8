package batch

import (
	"math"

	"github.com/cryptonets/cryptonets/core/model"
)

// A batch plan must keep every value v of every step below the modulus at its scale
// (|v|·scale < Q/2), or the value wraps around and decrypts as garbage. The planner
// sizes scales from bounds on the values, by one of two methods, and the plan states
// which one it used (Guarantee):
//
//   - GuaranteeProven: bounds that hold for every input in the model's input ranges,
//     by interval arithmetic per value (neuron) through the composed affine map from
//     the last activation (tighter than layer by layer: signs cancel) and the exact
//     range of each activation polynomial over its input interval. No input in range
//     can overflow.
//   - GuaranteeCalibrated: where proven bounds are hopeless (each polynomial squares the
//     worst case, and deep networks reach 2^40 and more), bounds from calibration data:
//     at the input x of every activation, the plan also computes a monitor
//     M = Σ_i w_i·x_i², with w_i = 1/(n·τ·s_i²) from the calibration's per-value scale
//     s_i, normalized energy and margin (τ = margin²·energy), and returns it with the
//     logits. If M ≤ 1, x lies in the ellipsoid Σ (x_i/s_i)² ≤ n·τ, and the bounds of
//     the values up to the next activation follow from it (Cauchy–Schwarz for the
//     linear part, the largest weight for the higher powers), intersected with the
//     interval bounds. Every monitor's own value is bounded given the monitors before
//     it, so the client, checking the monitors in order, either finds them all ≤ 1 (and
//     then no value overflowed: the logits are right) or finds the first one above 1 and
//     reports an error for that image: an input beyond the calibrated range is an error
//     at decryption, never a wrong label.

// Guarantees a plan gives about overflow (manifest.Manifest.Guarantee).
const (
	GuaranteeProven     = "proven"
	GuaranteeCalibrated = "calibrated"
)

// DefaultMargin is the factor by which a calibrated plan lets values exceed what the
// calibration inputs showed (in normalized energy, margin²) before the monitor trips.
const DefaultMargin = 2.0

// interval is a closed interval [lo, hi].
type interval struct{ lo, hi float64 }

func (v interval) abs() float64 { return math.Max(math.Abs(v.lo), math.Abs(v.hi)) }

func (v interval) intersect(w interval) interval {
	return interval{math.Max(v.lo, w.lo), math.Min(v.hi, w.hi)}
}

// monitorPlan is the monitor of one activation's input.
type monitorPlan struct {
	stage, layer int
	// weights are the w_i of M = Σ w_i·x_i²; the monitor admits M ≤ 1.
	weights []float64
	// max bounds M for every input that the earlier monitors admit.
	max float64
}

// ellipsoid is what a passed monitor says of an activation's input x: Σ (x_i/s_i)² ≤
// r2, with each x_i also in box[i]; coeffs is the activation polynomial.
type ellipsoid struct {
	s      []float64
	r2     float64
	box    []interval
	coeffs []float64
}

// valueBounds are the bounds of every value after every stage.
type valueBounds struct {
	after     [][]interval
	monitors  []monitorPlan
	guarantee string
}

// boundValues bounds the values of the stages, for inputs in the intervals in. With
// cal (and the margin), every activation with a calibration point is monitored
// (GuaranteeCalibrated); without, the bounds are proven for every input in range.
func boundValues(stages []model.Stage, in []interval, cal *model.Calibration, margin float64) (*valueBounds, error) {
	vb := &valueBounds{guarantee: GuaranteeProven}
	if cal != nil {
		vb.guarantee = GuaranteeCalibrated
	}
	anchor := in
	cur := anchor
	var ell *ellipsoid // the constraint on the anchor, if its activation is monitored
	var comp *model.Affine
	for k, st := range stages {
		switch {
		case st.Affine != nil:
			var err error
			if comp == nil {
				comp = st.Affine
			} else if comp, err = comp.Then(st.Affine); err != nil {
				return nil, err
			}
			cur = affineBounds(comp, anchor)
			if ell != nil {
				for j, e := range ell.affineBounds(comp) {
					cur[j] = cur[j].intersect(e)
				}
			}
		case st.Activation != nil:
			coeffs, err := activationCoeffs(st.Activation)
			if err != nil {
				return nil, err
			}
			x := cur
			ell = nil
			if p := cal.Point(st.Layer); p != nil {
				mon, e := newMonitor(k, st.Layer, p, x, margin, coeffs)
				vb.monitors = append(vb.monitors, mon)
				ell, x = e, e.box
			}
			out := make([]interval, len(x))
			for i, v := range x {
				out[i] = polyRange(coeffs, v)
			}
			anchor, cur, comp = out, out, nil
		default:
			return nil, errUnsupportedStage(st)
		}
		vb.after = append(vb.after, cur)
	}
	return vb, nil
}

// newMonitor plans the monitor of the input x (bounded by the earlier monitors) of
// activation stage k, from its calibration point.
func newMonitor(k, layer int, p *model.CalibrationPoint, x []interval, margin float64, coeffs []float64) (monitorPlan, *ellipsoid) {
	n := float64(len(x))
	tau := margin * margin * math.Max(p.Energy, 1e-12)
	mon := monitorPlan{stage: k, layer: layer, weights: make([]float64, len(x))}
	e := &ellipsoid{s: p.Scale, r2: n * tau, box: make([]interval, len(x)), coeffs: coeffs}
	r := math.Sqrt(e.r2)
	for i, v := range x {
		mon.weights[i] = 1 / (n * tau * p.Scale[i] * p.Scale[i])
		a := v.abs()
		mon.max += mon.weights[i] * a * a
		e.box[i] = v.intersect(interval{-r * p.Scale[i], r * p.Scale[i]})
	}
	return mon, e
}

// affineBounds returns the interval of each output of a for inputs in the intervals.
func affineBounds(a *model.Affine, in []interval) []interval {
	out := make([]interval, a.Out())
	for j, row := range a.Rows {
		lo, hi := a.Bias[j], a.Bias[j]
		for _, t := range row {
			v := in[t.Index]
			if t.Weight >= 0 {
				lo += t.Weight * v.lo
				hi += t.Weight * v.hi
			} else {
				lo += t.Weight * v.hi
				hi += t.Weight * v.lo
			}
		}
		out[j] = interval{lo, hi}
	}
	return out
}

// affineBounds bounds y = a(p(x)) for x in the ellipsoid: with u_i = x_i/s_i,
// Σ u_i² ≤ r2 and U = max |u_i| over the boxes,
//
//	|Σ_i a_ji·c_1·x_i| ≤ |c_1|·‖(a_ji·s_i)_i‖₂·√r2            (Cauchy–Schwarz)
//	|Σ_i a_ji·c_k·x_i^k| ≤ |c_k|·max_i |a_ji|·s_i^k · r2·U^(k−2)   (k ≥ 2)
//
// around b_j + c_0·Σ_i a_ji.
func (e *ellipsoid) affineBounds(a *model.Affine) []interval {
	u := 0.0
	for i, v := range e.box {
		u = math.Max(u, v.abs()/e.s[i])
	}
	r := math.Sqrt(e.r2)
	out := make([]interval, a.Out())
	for j, row := range a.Rows {
		center := a.Bias[j]
		l2 := 0.0
		maxK := make([]float64, len(e.coeffs))
		for _, t := range row {
			center += e.coeffs[0] * t.Weight
			ws := t.Weight * e.s[t.Index]
			l2 += ws * ws
			p := math.Abs(t.Weight)
			for k := 1; k < len(e.coeffs); k++ {
				p *= e.s[t.Index]
				maxK[k] = math.Max(maxK[k], p)
			}
		}
		rad := 0.0
		for k := 1; k < len(e.coeffs); k++ {
			c := math.Abs(e.coeffs[k])
			if k == 1 {
				rad += c * math.Sqrt(l2) * r
				continue
			}
			rad += c * maxK[k] * e.r2 * math.Pow(u, float64(k-2))
		}
		out[j] = interval{center - rad, center + rad}
	}
	return out
}

// polyRange bounds p(x) = Σ c_k·x^k over v: exactly up to degree 2, and for higher
// degrees by interval Horner evaluation on polySubdivisions equal pieces of v (sound,
// and tight as the pieces shrink).
func polyRange(c []float64, v interval) interval {
	switch len(c) {
	case 1:
		return interval{c[0], c[0]}
	case 2:
		a, b := c[0]+c[1]*v.lo, c[0]+c[1]*v.hi
		return interval{math.Min(a, b), math.Max(a, b)}
	case 3:
		f := func(x float64) float64 { return c[0] + x*(c[1]+x*c[2]) }
		lo, hi := math.Min(f(v.lo), f(v.hi)), math.Max(f(v.lo), f(v.hi))
		if c[2] != 0 {
			if x := -c[1] / (2 * c[2]); x > v.lo && x < v.hi {
				lo, hi = math.Min(lo, f(x)), math.Max(hi, f(x))
			}
		}
		return interval{lo, hi}
	}
	out := interval{math.Inf(1), math.Inf(-1)}
	w := (v.hi - v.lo) / polySubdivisions
	for k := range polySubdivisions {
		piece := interval{v.lo + float64(k)*w, v.lo + float64(k+1)*w}
		if k == polySubdivisions-1 {
			piece.hi = v.hi
		}
		r := hornerInterval(c, piece)
		out = interval{math.Min(out.lo, r.lo), math.Max(out.hi, r.hi)}
	}
	return out
}

// polySubdivisions is the number of pieces polyRange bounds a polynomial of degree 3
// or more on.
const polySubdivisions = 64

// hornerInterval evaluates Σ c_k·x^k for x in v with interval arithmetic.
func hornerInterval(c []float64, v interval) interval {
	acc := interval{c[len(c)-1], c[len(c)-1]}
	for k := len(c) - 2; k >= 0; k-- {
		p := []float64{acc.lo * v.lo, acc.lo * v.hi, acc.hi * v.lo, acc.hi * v.hi}
		acc = interval{slicesMin(p) + c[k], slicesMax(p) + c[k]}
	}
	return acc
}

func slicesMin(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = math.Min(m, x)
	}
	return m
}

func slicesMax(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = math.Max(m, x)
	}
	return m
}

// maxAbs returns the largest magnitude of the intervals.
func maxAbs(vs []interval) float64 {
	m := 0.0
	for _, v := range vs {
		m = math.Max(m, v.abs())
	}
	return m
}
