package model

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Kind names a layer type; it is also the layer's tag in the model file.
type Kind string

// The layer kinds.
const (
	KindConv2D     Kind = "conv2d"
	KindDense      Kind = "dense"
	KindSumPool    Kind = "sumpool"
	KindFlatten    Kind = "flatten"
	KindSquare     Kind = "square"
	KindPolynomial Kind = "polynomial"
	KindSoftmax    Kind = "softmax"
)

// Layer is one node of the network.
type Layer interface {
	Kind() Kind
	// OutputShape infers the output shape from the input shape and checks the
	// layer's own fields against it.
	OutputShape(in Shape) (Shape, error)
}

// Linear is a layer that is an affine map of its input.
type Linear interface {
	Layer
	Affine(in Shape) (*Affine, error)
}

// Activation is a layer applied to each value independently.
type Activation interface {
	Layer
	Apply(x float64) float64
}

// Padding is the number of zero rows and columns added around the input.
type Padding struct {
	Top    int `codec:"top"`
	Left   int `codec:"left"`
	Bottom int `codec:"bottom"`
	Right  int `codec:"right"`
}

func (p Padding) valid() bool { return p.Top >= 0 && p.Left >= 0 && p.Bottom >= 0 && p.Right >= 0 }

// window is the geometry shared by convolution and pooling; a dilation of 0 means 1.
type window struct {
	kh, kw, sh, sw, dh, dw int
	pad                    Padding
}

// dilations returns the dilations, 0 read as 1.
func (w window) dilations() (int, int) { return max(w.dh, 1), max(w.dw, 1) }

func (w window) outputSize(in Shape) (h, wd int, err error) {
	if w.kh <= 0 || w.kw <= 0 || w.sh <= 0 || w.sw <= 0 || w.dh < 0 || w.dw < 0 || !w.pad.valid() {
		return 0, 0, errs.New(errs.ErrInvalidArgument, "kernel %d×%d, stride %d×%d, dilation %d×%d and padding must be positive",
			w.kh, w.kw, w.sh, w.sw, w.dh, w.dw)
	}
	dh, dw := w.dilations()
	eh, ew := dh*(w.kh-1)+1, dw*(w.kw-1)+1 // the dilated kernel's extent
	ph, pw := in.H+w.pad.Top+w.pad.Bottom, in.W+w.pad.Left+w.pad.Right
	if ph < eh || pw < ew {
		return 0, 0, errs.New(errs.ErrInvalidArgument, "kernel %d×%d (dilated %d×%d) larger than padded input %d×%d", w.kh, w.kw, eh, ew, ph, pw)
	}
	return (ph-eh)/w.sh + 1, (pw-ew)/w.sw + 1, nil
}

// taps calls f for every kernel offset (ky, kx) of output (oy, ox) that falls inside
// the unpadded input, with the input coordinates.
func (w window) taps(in Shape, oy, ox int, f func(ky, kx, iy, ix int)) {
	dh, dw := w.dilations()
	for ky := range w.kh {
		iy := oy*w.sh + ky*dh - w.pad.Top
		if iy < 0 || iy >= in.H {
			continue
		}
		for kx := range w.kw {
			ix := ox*w.sw + kx*dw - w.pad.Left
			if ix < 0 || ix >= in.W {
				continue
			}
			f(ky, kx, iy, ix)
		}
	}
}

// Conv2D is a 2-D convolution with stride, dilation and zero padding (a 1-D
// convolution over signals of shape C×1×L is one with KernelH 1).
// Weights are laid out [out channel][in channel][ky][kx].
type Conv2D struct {
	InChannels  int     `codec:"in_channels"`
	OutChannels int     `codec:"out_channels"`
	KernelH     int     `codec:"kernel_h"`
	KernelW     int     `codec:"kernel_w"`
	StrideH     int     `codec:"stride_h"`
	StrideW     int     `codec:"stride_w"`
	Pad         Padding `codec:"pad"`
	// DilationH and DilationW space the kernel's taps; 0 (files written before them)
	// means 1.
	DilationH int       `codec:"dilation_h,omitempty"`
	DilationW int       `codec:"dilation_w,omitempty"`
	Weights   []float64 `codec:"weights"`
	Bias      []float64 `codec:"bias"`
}

// Kind returns KindConv2D.
func (*Conv2D) Kind() Kind { return KindConv2D }

func (c *Conv2D) window() window {
	return window{kh: c.KernelH, kw: c.KernelW, sh: c.StrideH, sw: c.StrideW, dh: c.DilationH, dw: c.DilationW, pad: c.Pad}
}

// OutputShape implements Layer.
func (c *Conv2D) OutputShape(in Shape) (Shape, error) {
	if c.InChannels != in.C || c.OutChannels <= 0 {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "conv2d: %d input channels, input is %v", c.InChannels, in)
	}
	h, w, err := c.window().outputSize(in)
	if err != nil {
		return Shape{}, fmt.Errorf("conv2d: %w", err)
	}
	if len(c.Weights) != c.OutChannels*c.InChannels*c.KernelH*c.KernelW || len(c.Bias) != c.OutChannels {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "conv2d: %d weights and %d biases do not match %d×%d×%d×%d",
			len(c.Weights), len(c.Bias), c.OutChannels, c.InChannels, c.KernelH, c.KernelW)
	}
	return Shape{C: c.OutChannels, H: h, W: w}, nil
}

// Affine implements Linear.
func (c *Conv2D) Affine(in Shape) (*Affine, error) {
	out, err := c.OutputShape(in)
	if err != nil {
		return nil, err
	}
	a := &Affine{In: in.Size(), Rows: make([][]Term, out.Size()), Bias: make([]float64, out.Size())}
	win := c.window()
	for oc := range out.C {
		for oy := range out.H {
			for ox := range out.W {
				j := out.Index(oc, oy, ox)
				a.Bias[j] = c.Bias[oc]
				for ic := range in.C {
					win.taps(in, oy, ox, func(ky, kx, iy, ix int) {
						w := c.Weights[((oc*c.InChannels+ic)*c.KernelH+ky)*c.KernelW+kx]
						if w != 0 {
							a.Rows[j] = append(a.Rows[j], Term{Index: in.Index(ic, iy, ix), Weight: w})
						}
					})
				}
			}
		}
	}
	return a, nil
}

// Dense is a fully connected layer on the flattened input. Weights are row-major
// [output][input].
type Dense struct {
	In      int       `codec:"in"`
	Out     int       `codec:"out"`
	Weights []float64 `codec:"weights"`
	Bias    []float64 `codec:"bias"`
}

// Kind returns KindDense.
func (*Dense) Kind() Kind { return KindDense }

// OutputShape implements Layer.
func (d *Dense) OutputShape(in Shape) (Shape, error) {
	if d.In != in.Size() || d.Out <= 0 {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "dense: %d inputs, input is %v", d.In, in)
	}
	if len(d.Weights) != d.In*d.Out || len(d.Bias) != d.Out {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "dense: %d weights and %d biases do not match %d×%d", len(d.Weights), len(d.Bias), d.Out, d.In)
	}
	return Shape{C: d.Out, H: 1, W: 1}, nil
}

// Affine implements Linear.
func (d *Dense) Affine(in Shape) (*Affine, error) {
	if _, err := d.OutputShape(in); err != nil {
		return nil, err
	}
	return denseToAffine(d.In, d.Out, d.Weights, d.Bias), nil
}

// SumPool adds the values of each window and multiplies the sum by Scale. Average
// pooling that counts padded zeros is a SumPool with Scale = 1/(KernelH·KernelW);
// max pooling becomes one in the CryptoNets conversion.
type SumPool struct {
	KernelH int     `codec:"kernel_h"`
	KernelW int     `codec:"kernel_w"`
	StrideH int     `codec:"stride_h"`
	StrideW int     `codec:"stride_w"`
	Pad     Padding `codec:"pad"`
	Scale   float64 `codec:"scale"`
}

// Kind returns KindSumPool.
func (*SumPool) Kind() Kind { return KindSumPool }

func (p *SumPool) window() window {
	return window{kh: p.KernelH, kw: p.KernelW, sh: p.StrideH, sw: p.StrideW, pad: p.Pad}
}

// OutputShape implements Layer.
func (p *SumPool) OutputShape(in Shape) (Shape, error) {
	h, w, err := p.window().outputSize(in)
	if err != nil {
		return Shape{}, fmt.Errorf("sumpool: %w", err)
	}
	return Shape{C: in.C, H: h, W: w}, nil
}

// Affine implements Linear.
func (p *SumPool) Affine(in Shape) (*Affine, error) {
	out, err := p.OutputShape(in)
	if err != nil {
		return nil, err
	}
	a := &Affine{In: in.Size(), Rows: make([][]Term, out.Size()), Bias: make([]float64, out.Size())}
	win := p.window()
	for c := range out.C {
		for oy := range out.H {
			for ox := range out.W {
				j := out.Index(c, oy, ox)
				win.taps(in, oy, ox, func(_, _, iy, ix int) {
					a.Rows[j] = append(a.Rows[j], Term{Index: in.Index(c, iy, ix), Weight: p.Scale})
				})
			}
		}
	}
	return a, nil
}

// Flatten reshapes C×H×W into a vector of C·H·W values (channel-major, as PyTorch).
type Flatten struct{}

// Kind returns KindFlatten.
func (Flatten) Kind() Kind { return KindFlatten }

// OutputShape implements Layer.
func (Flatten) OutputShape(in Shape) (Shape, error) { return Shape{C: in.Size(), H: 1, W: 1}, nil }

// KindReshape is the tag of Reshape layers.
const KindReshape Kind = "reshape"

// Reshape gives the values another shape of the same size without moving them (they
// stay in channel-major order, as in PyTorch's view and reshape).
type Reshape struct {
	To Shape `codec:"to"`
}

// Kind returns KindReshape.
func (*Reshape) Kind() Kind { return KindReshape }

// OutputShape implements Layer.
func (r *Reshape) OutputShape(in Shape) (Shape, error) {
	if !r.To.Valid() || r.To.Size() != in.Size() {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "reshape: %v has not the %d values of %v", r.To, in.Size(), in)
	}
	return r.To, nil
}

// Square is the activation x ↦ x².
type Square struct{}

// Kind returns KindSquare.
func (Square) Kind() Kind { return KindSquare }

// OutputShape implements Layer.
func (Square) OutputShape(in Shape) (Shape, error) { return in, nil }

// Apply implements Activation.
func (Square) Apply(x float64) float64 { return x * x }

// Polynomial is an activation p(x) = Σ Coeffs[k]·x^k fitted to a function over an
// input interval; FitError is the largest error of the fit over that interval.
type Polynomial struct {
	Coeffs   []float64  `codec:"coeffs"`
	Interval [2]float64 `codec:"interval"`
	FitError float64    `codec:"fit_error"`
	Fitted   string     `codec:"fitted"`
}

// Kind returns KindPolynomial.
func (*Polynomial) Kind() Kind { return KindPolynomial }

// OutputShape implements Layer.
func (p *Polynomial) OutputShape(in Shape) (Shape, error) {
	if len(p.Coeffs) == 0 {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "polynomial: no coefficients")
	}
	return in, nil
}

// Degree is the polynomial's degree without trailing zero coefficients (0 for a
// constant).
func (p *Polynomial) Degree() int {
	d := len(p.Coeffs) - 1
	for d > 0 && p.Coeffs[d] == 0 {
		d--
	}
	return max(d, 0)
}

// Depth is the multiplicative depth of the activation: ⌈log2 degree⌉ ciphertext
// multiplications in sequence (1 for a square; 0 for an affine polynomial).
func (p *Polynomial) Depth() int { return DepthOf(p.Degree()) }

// DepthOf is ⌈log2 degree⌉, the fewest sequential products that reach x^degree.
func DepthOf(degree int) int {
	if degree <= 1 {
		return 0
	}
	return bits.Len(uint(degree - 1))
}

// Depth is 1: one ciphertext multiplication.
func (Square) Depth() int { return DepthOf(2) }

// Apply implements Activation (Horner's rule).
func (p *Polynomial) Apply(x float64) float64 {
	y := 0.0
	for k := len(p.Coeffs) - 1; k >= 0; k-- {
		y = y*x + p.Coeffs[k]
	}
	return y
}

// Softmax normalizes a vector into probabilities. It is present only in imported,
// unconverted graphs: the conversion drops a final softmax since argmax is unchanged.
type Softmax struct{}

// Kind returns KindSoftmax.
func (Softmax) Kind() Kind { return KindSoftmax }

// OutputShape implements Layer.
func (Softmax) OutputShape(in Shape) (Shape, error) { return in, nil }

// Probabilities returns the softmax of logits x: the probabilities of the classes.
func Probabilities(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	y := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		y[i] = math.Exp(v - m)
		s += y[i]
	}
	for i := range y {
		y[i] /= s
	}
	return y
}
