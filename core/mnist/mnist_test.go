package mnist

import "testing"

func TestLoadsRealTestSet(t *testing.T) {
	s, err := Test()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 10000 || len(s.Images[0]) != 784 {
		t.Fatalf("got %d images of %d values", len(s.Images), len(s.Images[0]))
	}
	// The first test digit of MNIST is a 7, the second a 2.
	if s.Labels[0] != 7 || s.Labels[1] != 2 {
		t.Fatalf("labels %v", s.Labels[:2])
	}
	for _, v := range s.Images[0] {
		if v < 0 || v > 1 {
			t.Fatalf("pixel %g outside [0,1]", v)
		}
	}
}

func TestTrainFirst(t *testing.T) {
	s, err := TrainFirst(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 3 || len(s.Labels) != 3 || len(s.Images[0]) != 784 {
		t.Fatalf("got %d images, %d labels", len(s.Images), len(s.Labels))
	}
	// The first training digits of MNIST are 5, 0, 4.
	if s.Labels[0] != 5 || s.Labels[1] != 0 || s.Labels[2] != 4 {
		t.Fatalf("labels %v", s.Labels)
	}
}
