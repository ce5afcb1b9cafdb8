package batch

import (
	"strings"
	"testing"
)

// TestFuseOnlyWhereEquivalent: fuse joins a square to the linear step right after it
// only where the square does not rescale and the linear step does not keep its inputs
// for the chunks after it, in segments' chunks too, and leaves the plan's own steps
// (what it describes and hashes) as they were.
func TestFuseOnlyWhereEquivalent(t *testing.T) {
	linear := func(keep bool) step { return &linearStep{keep: keep} }
	square := func(rescales int) step { return &squareStep{rescales: rescales} }
	chunk := []step{linear(true), square(0), linear(false)}
	steps := []step{
		linear(false), square(0), linear(false), // fused
		square(1), linear(false), // the square rescales
		square(0), &relinStep{}, linear(false), // a relinearization in between
		&segmentStep{chunks: []segmentChunk{{steps: chunk}}},
		square(0), linear(true), // the linear step keeps its inputs
		square(0), // the last step
	}
	before := describe(steps)
	got := describe(fuse(steps))
	want := "linear, square+linear, square, linear, square, relinearize, linear, segment(linear, square+linear), square, linear, square"
	if got != want {
		t.Errorf("fused: %s\nwant:  %s", got, want)
	}
	if after := describe(steps); after != before {
		t.Errorf("the plan's steps changed: %s, were %s", after, before)
	}
}

// describe names the kinds of steps.
func describe(steps []step) string {
	var names []string
	for _, s := range steps {
		switch st := s.(type) {
		case *linearStep:
			names = append(names, "linear")
		case *squareStep:
			names = append(names, "square")
		case *relinStep:
			names = append(names, "relinearize")
		case *squaredLinearStep:
			names = append(names, "square+linear")
		case *segmentStep:
			for _, c := range st.chunks {
				names = append(names, "segment("+describe(c.steps)+")")
			}
		}
	}
	return strings.Join(names, ", ")
}
