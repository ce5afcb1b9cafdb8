package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/model"
)

func gaps(path string) {
	m, _ := model.Load(path)
	ref, _ := model.NewReference(m)
	set, _ := mnist.Test()
	out, _ := ref.ForwardAll(set.Images)
	var g []float64
	for _, y := range out {
		s := append([]float64(nil), y...)
		sort.Float64s(s)
		g = append(g, s[len(s)-1]-s[len(s)-2])
	}
	sort.Float64s(g)
	mx := 0.0
	for _, y := range out {
		for _, v := range y {
			mx = math.Max(mx, math.Abs(v))
		}
	}
	fmt.Println("smallest gaps", g[:10], "max |logit|", mx)
}
