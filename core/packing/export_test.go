package packing

import (
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// CheckMargin decrypts result (of request id with n images) and returns the largest
// ratio of a check value's error to its tolerance: how close an honest result comes
// to failing its integrity check.
func (c *Codec) CheckMargin(result []*rlwe.Ciphertext, id []byte, n int) float64 {
	m := &c.manifest
	dec := rlwe.NewDecryptor(c.params, c.sk)
	ecd := hefloat.NewEncoder(c.params)
	values := make([][]float64, len(result))
	for i, ct := range result {
		values[i] = make([]float64, c.params.MaxSlots())
		if err := ecd.Decode(dec.DecryptNew(ct), values[i]); err != nil {
			panic(err)
		}
	}
	worst := 0.0
	arr := c.arrangement(id, n)
	for p, img := range arr.image {
		if img >= 0 {
			continue
		}
		for j := range m.Outputs {
			ct, slot := m.Result.Slot(p, j)
			want, tol := m.Checks.Outputs[arr.check[p]][j], m.Checks.Tolerance[arr.check[p]][j]
			worst = math.Max(worst, math.Abs(values[ct][slot]-want)/tol)
		}
	}
	return worst
}
