package main

import (
	"encoding/csv"
	"os"
	"strconv"
)

// readCSV reads features and labels (last column) with a header row.
func readCSV(path string) ([][]float64, []int) {
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		panic(err)
	}
	var xs [][]float64
	var ys []int
	for _, r := range rows[1:] {
		x := make([]float64, len(r)-1)
		for i := range x {
			x[i], _ = strconv.ParseFloat(r[i], 64)
		}
		y, _ := strconv.Atoi(r[len(r)-1])
		xs = append(xs, x)
		ys = append(ys, y)
	}
	return xs, ys
}
