package main

import (
	"encoding/binary"
	"math"
	"os"
	"strings"
)

// readNpy reads a little-endian float32 or int64 .npy as rows of size per.
func readNpy(path string, per int) [][]float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	hdr := string(b[10 : 10+hl])
	data := b[10+hl:]
	var vals []float64
	switch {
	case strings.Contains(hdr, "<f4"):
		for i := 0; i+4 <= len(data); i += 4 {
			vals = append(vals, float64(math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))))
		}
	case strings.Contains(hdr, "<i8"):
		for i := 0; i+8 <= len(data); i += 8 {
			vals = append(vals, float64(int64(binary.LittleEndian.Uint64(data[i:]))))
		}
	default:
		panic(hdr)
	}
	var rows [][]float64
	for i := 0; i+per <= len(vals); i += per {
		rows = append(rows, vals[i:i+per])
	}
	return rows
}

func readNpyData(x, y string, per int) ([][]float64, []int) {
	xs := readNpy(x, per)
	var ys []int
	for _, r := range readNpy(y, 1) {
		ys = append(ys, int(r[0]))
	}
	return xs, ys
}
