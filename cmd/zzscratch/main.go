package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/rewrite"
)

func main() {
	if os.Args[1] == "prof" {
		if f := os.Getenv("CPUPROF"); f != "" {
			out, _ := os.Create(f)
			pprof.StartCPUProfile(out)
			defer pprof.StopCPUProfile()
		}
		prof(os.Args[2], os.Getenv("GUAR"))
		return
	}
	if os.Args[1] == "gaps" {
		gaps(os.Args[2])
		return
	}
	m, err := onnx.ImportFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var cal [][]float64
	var labels []int
	if len(os.Args) > 2 && strings.HasSuffix(os.Args[2], ".npy") {
		cal, labels = readNpyData(os.Args[2], strings.Replace(os.Args[2], "signals", "labels", 1), m.Input.Size())
	} else if len(os.Args) > 2 {
		cal, labels = readCSV(os.Args[2])
	} else {
		set, _ := mnist.TrainFirst(1000)
		cal, labels = set.Images, set.Labels
	}
	start := time.Now()
	out, rep, err := rewrite.ConvertReport(m, rewrite.Options{Calibration: cal, Labels: labels, Budget: rewrite.Budget{Exceed: true}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("convert %.1fs before %.4f after %.4f within %v depth %d\n", time.Since(start).Seconds(), rep.Before, rep.After, rep.WithinBudget, rep.Depth)
	if len(os.Args) > 3 {
		var tx [][]float64
		var ty []int
		if strings.HasSuffix(os.Args[3], ".npy") {
			tx, ty = readNpyData(os.Args[3], strings.Replace(os.Args[3], "signals", "labels", 1), m.Input.Size())
		} else {
			tx, ty = readCSV(os.Args[3])
		}
		for _, mm := range []*model.Model{m, out} {
			ref, _ := model.NewReference(mm)
			ok := 0
			for i, x := range tx {
				y, _ := ref.Forward(x)
				if model.Argmax(y) == ty[i] {
					ok++
				}
			}
			fmt.Printf("test accuracy %.4f (%d/%d)\n", float64(ok)/float64(len(tx)), ok, len(tx))
		}
	}
	for _, a := range rep.Activations {
		fmt.Printf("  layer %d deg %d %v %s %s outside %.4f\n", a.Layer, a.Degree, a.Interval, a.Fit, a.IntervalFrom, a.Outside)
	}
	for _, r := range out.Provenance.Rewrites {
		fmt.Println("  ", r)
	}
	out.Save("/tmp/scratch/out.cnm")
	start = time.Now()
	opts := compile.Options{Packing: "batch"}
	if os.Getenv("GUAR") != "" {
		opts.Tuning.Guarantee = os.Getenv("GUAR")
	}
	p, err := compile.Compile(out, opts)
	fmt.Printf("compile %.1fs err %v\n", time.Since(start).Seconds(), err)
	if err != nil {
		return
	}
	man := p.Manifest()
	fmt.Println(man.Params, man.Guarantee, man.Relinearize, p.PrecisionBits(), compile.EstimateOf(p, man.ImagesPerBatch))
	for _, s := range p.Steps() {
		fmt.Printf("  %-30s %5d→%5d L%d d%d 2^%.1f w%d r%d bound %.3g\n", s.Kind, s.Inputs, s.Outputs, s.Level, s.Degree, s.LogScale, s.WeightLogScale, s.Rescales, s.Bound)
	}
}
