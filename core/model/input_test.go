package model

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
)

func TestPrepareNamesTheRecordAndTheValue(t *testing.T) {
	name := func(i int) string { return []string{"a.png", "b.png"}[i] }
	cases := []struct {
		shape   Shape
		records [][]float64
		names   func(int) string
		want    string
	}{
		{Shape{C: 1, H: 2, W: 3}, [][]float64{{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 1.5, 0}}, name, "b.png: pixel (x 1, y 1) is 1.5"},
		{Shape{C: 2, H: 2, W: 2}, [][]float64{{0, 0, 0, 0, 0, 0, 0, math.NaN()}}, nil, "record 0: channel 1, pixel (x 1, y 1) is NaN"},
		{Shape{C: 3, H: 1, W: 1}, [][]float64{{0, -1, 0}}, nil, "record 0: value 1 is -1, outside the model's input range [0, 1]"},
		{Shape{C: 1, H: 1, W: 4}, [][]float64{{0, 0, 0, math.Inf(1)}}, nil, "value 3 is +Inf"},
		{Shape{C: 3, H: 1, W: 1}, [][]float64{{0, 0}}, name, "a.png has 2 values, the model takes 3"},
	}
	for _, c := range cases {
		spec := InputSpec{Shape: c.shape, Range: [2]float64{0, 1}}
		_, err := spec.Prepare(c.records, c.names)
		if !errors.Is(err, errs.ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.shape, err, c.want)
		}
	}
	spec := InputSpec{Shape: Shape{C: 2, H: 1, W: 1}, Range: [2]float64{-1, 1}}
	if out, err := spec.Prepare([][]float64{{-1, 1}}, nil); err != nil || out[0][0] != -1 || out[0][1] != 1 {
		t.Errorf("records inside the range: %v %v", out, err)
	}
}
