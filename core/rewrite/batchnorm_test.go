package rewrite

import (
	"reflect"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

func (g layers) channelAffine(c int) *model.ChannelAffine {
	return &model.ChannelAffine{Scale: g.random(c), Shift: g.random(c)}
}

func mustFold(t *testing.T, m *model.Model) (*model.Model, []string) {
	t.Helper()
	var out *model.Model
	var notes []string
	unchanged(t, m, func() {
		var err error
		if out, notes, err = foldBatchNorm(m); err != nil {
			t.Fatal(err)
		}
	})
	return out, notes
}

func TestFoldBatchNorm(t *testing.T) {
	g := newLayers()
	// Conv → BN → square → flatten → dense → BN → BN → square → dense.
	m := newModel(model.Shape{C: 2, H: 6, W: 6}, g.conv(2, 3, 3, 1, 1), g.channelAffine(3), model.Square{},
		model.Flatten{}, g.dense(108, 5), g.channelAffine(5), g.channelAffine(5), model.Square{}, g.dense(5, 2))
	got, notes := mustFold(t, m)
	checkKinds(t, got, "conv2d square flatten dense square dense")
	checkSameOutputs(t, m, got)
	want := []string{
		"fold-batchnorm: layer 1 (channel_affine) into layer 0 (conv2d)",
		"fold-batchnorm: layer 5 (channel_affine) into layer 4 (dense)",
		"fold-batchnorm: layer 6 (channel_affine) into layer 4 (dense)",
	}
	if !reflect.DeepEqual(notes, want) {
		t.Fatalf("notes %q, want %q", notes, want)
	}
	if public, err := FoldBatchNorm(m); err != nil || !reflect.DeepEqual(public, got) {
		t.Fatalf("FoldBatchNorm: %v", err)
	}
}

// TestFoldBatchNormElsewhere: a ChannelAffine before a padded convolution (with a
// shift), before a pool or at the end stays.
func TestFoldBatchNormElsewhere(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 2, H: 2, W: 2}, g.channelAffine(2), g.conv(2, 2, 3, 1, 1), model.Square{},
		g.channelAffine(2), pool(2, 1, 0), g.channelAffine(2), model.Flatten{}, g.channelAffine(2))
	got, notes := mustFold(t, m)
	if !reflect.DeepEqual(got, m) || notes != nil {
		t.Fatalf("layers %s, notes %q", kindsOf(got), notes)
	}
	// MergeLinear merges the ones inside linear runs when that is cheaper.
	merged := mustMerge(t, got)
	checkKinds(t, merged, "channel_affine conv2d square dense")
	checkSameOutputs(t, m, merged)
}

// TestFoldForward: input normalization folds into the first convolution (no padding)
// or dense layer, a batch norm after an activation into the next dense layer through
// a flatten, and a scale-only one into a padded convolution.
func TestFoldForward(t *testing.T) {
	g := newLayers()
	scaleOnly := &model.ChannelAffine{Scale: g.random(3), Shift: make([]float64, 3)}
	m := newModel(model.Shape{C: 2, H: 6, W: 6}, g.channelAffine(2), g.conv(2, 3, 3, 1, 0), model.Square{},
		scaleOnly, g.conv(3, 2, 3, 1, 1), model.Square{}, g.channelAffine(2), model.Flatten{}, g.dense(32, 4))
	got, notes := mustFold(t, m)
	checkKinds(t, got, "conv2d square conv2d square flatten dense")
	checkSameOutputs(t, m, got)
	want := []string{
		"fold-batchnorm: layer 6 (channel_affine) into layer 8 (dense)",
		"fold-batchnorm: layer 3 (channel_affine) into layer 4 (conv2d)",
		"fold-normalization: layer 0 (channel_affine) into layer 1 (conv2d)",
	}
	if !reflect.DeepEqual(notes, want) {
		t.Fatalf("notes %q, want %q", notes, want)
	}
	tab := newModel(model.Shape{C: 5, H: 1, W: 1}, g.channelAffine(5), g.dense(5, 3), model.Square{}, g.dense(3, 2))
	got, notes = mustFold(t, tab)
	checkKinds(t, got, "dense square dense")
	checkSameOutputs(t, tab, got)
	if len(notes) != 1 || notes[0] != "fold-normalization: layer 0 (channel_affine) into layer 1 (dense)" {
		t.Fatalf("notes %q", notes)
	}
}
