package server_test

import (
	"context"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

func TestPredictRejectsBadBatches(t *testing.T) {
	m := &model.Model{Name: "tiny", Input: model.Shape{C: 3, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Dense{In: 3, Out: 2, Weights: []float64{1, -1, 0.5, 0.2, 0.3, -0.4}, Bias: []float64{0.1, 0}},
			model.Square{},
			&model.Dense{In: 2, Out: 2, Weights: []float64{1, 0, 0, 1}, Bias: []float64{0, 0}},
		}}
	p, err := compile.Compile(m, compile.Options{Params: params.InsecureN11.Name, AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	man := p.Manifest()
	c, _ := client.New(&man, client.AllowInsecure())
	keys, err := c.EvaluationKeys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(nil, keys); err == nil {
		t.Error("nil plan accepted")
	}
	if _, err := server.New(p, nil); err == nil {
		t.Error("nil keys accepted")
	}
	s, err := server.New(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	good, err := c.Encrypt([][]float64{{0.1, 0.2, 0.3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]*wire.Ciphertexts{
		"nil":            nil,
		"no images":      {Images: 0, Ciphertexts: good.Ciphertexts},
		"too many":       {Images: man.ImagesPerBatch + 1, Ciphertexts: good.Ciphertexts},
		"missing values": {Images: 1, Ciphertexts: good.Ciphertexts[:2]},
		"nil ciphertext": {Images: 1, Ciphertexts: append(good.Ciphertexts[:2:2], nil)},
	}
	for name, b := range cases {
		if _, err := s.Predict(context.Background(), b, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := s.Predict(context.Background(), good, nil); err != nil {
		t.Fatalf("the server is unusable after bad batches: %v", err)
	}
}
