package single_test

import (
	"context"
	"fmt"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Classify one MNIST image under single-image packing, through the packing
// interface alone. The insecure preset keeps the example fast; use params.N13S for
// 128-bit security.
func Example() {
	m, _ := model.Load("../../../models/mnist/mnist_cryptonets.cnm")
	var pk packing.Packing = single.Packing{}
	p, err := pk.Compile(m, params.InsecureN12S, packing.Options{})
	if err != nil {
		panic(err)
	}
	// Client, from the public manifest only: keys, then one encrypted image.
	man := p.Manifest()
	layout, _ := pk.Layout(&man)
	sk := rlwe.NewKeyGenerator(p.Parameters()).GenSecretKeyNew()
	client, _ := packing.NewCodec(&man, p.Parameters(), layout, sk, []byte("the client's own secret key"))
	rlk, gks := client.EvaluationKeys() // sent once
	set, _ := dataset.MNIST(dataset.MNISTTest, 0)
	in, _ := client.Encrypt(set.Records[:1], []byte("request 1"), nil, nil)

	// Server.
	out, err := p.Evaluate(context.Background(), in, rlwe.NewMemEvaluationKeySet(rlk, gks...), nil)
	if err != nil {
		panic(err)
	}

	// Client.
	logits, _ := client.Decrypt(out, []byte("request 1"), 1)
	fmt.Println("ciphertexts per image:", len(in), "label:", set.Labels[0], "predicted:", model.Argmax(logits[0]))
	// Output: ciphertexts per image: 13 label: 7 predicted: 7
}
