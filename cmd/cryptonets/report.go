package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// report is what a command prints: a readable text by default, one JSON object (its
// exported fields, by their json tags) with --json.
type report interface {
	writeText(w io.Writer)
}

// emit prints rep as text or, if o.json, as JSON: on stdout, or on stderr when stdout
// carries the command's output.
func (c *cli) emit(o *output, rep report) error {
	w := c.reportWriter()
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.writeText(w)
	return nil
}

// table writes aligned "key: value" lines.
type table struct {
	tw *tabwriter.Writer
}

// newTable returns a table writing to w.
func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)}
}

// row writes one line; format and args make the value.
func (t *table) row(key, format string, args ...any) {
	fmt.Fprintf(t.tw, "  %s:\t%s\n", key, fmt.Sprintf(format, args...))
}

// flush writes the table out.
func (t *table) flush() { t.tw.Flush() }

// byteSize formats a byte count in binary units, with the exact count for small ones.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// percent formats a fraction as a percentage.
func percent(f float64) string { return fmt.Sprintf("%.2f %%", 100*f) }

// finite replaces NaN and infinities (which JSON cannot hold) by 0.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// round rounds x to the given number of decimals, for readable JSON.
func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(finite(x)*p) / p
}

// roundSignificant rounds x to the given number of significant digits, for small
// per-image figures.
func roundSignificant(x float64, digits int) float64 {
	x = finite(x)
	if x == 0 {
		return 0
	}
	return round(x, digits-1-int(math.Floor(math.Log10(math.Abs(x)))))
}

// intList formats labels in rows of perRow.
func intList(w io.Writer, indent string, xs []int, perRow int) {
	for i := 0; i < len(xs); i += perRow {
		end := min(i+perRow, len(xs))
		parts := make([]string, end-i)
		for k, x := range xs[i:end] {
			parts[k] = fmt.Sprint(x)
		}
		fmt.Fprintf(w, "%s%s\n", indent, strings.Join(parts, " "))
	}
}
