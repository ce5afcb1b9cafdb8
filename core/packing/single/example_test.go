package single_test

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Classify one MNIST image under single-image packing. The insecure preset keeps the
// example fast; use params.N13S for 128-bit security.
func Example() {
	m, _ := model.Load("../../../models/mnist/mnist_cryptonets.cnm")
	p, err := single.Compile(m, params.InsecureN12S, single.Options{})
	if err != nil {
		panic(err)
	}
	// Client, from the public manifest only: keys, then one encrypted image.
	man := p.Manifest()
	sk := rlwe.NewKeyGenerator(p.Parameters()).GenSecretKeyNew()
	rlk, gks, _ := single.GenerateEvaluationKeys(&man, p.Parameters(), sk) // sent once
	evk := rlwe.NewMemEvaluationKeySet(rlk, gks...)
	client, _ := single.NewCodec(man, p.Parameters(), sk)
	set, _ := mnist.Test()
	in, _ := client.EncryptImages(set.Images[:1], nil)

	// Server.
	out, err := p.Evaluate(in, evk)
	if err != nil {
		panic(err)
	}

	// Client.
	logits, _ := client.DecryptLogits(out, 1)
	fmt.Println("ciphertexts per image:", len(in), "label:", set.Labels[0], "predicted:", model.Argmax(logits[0]))
	// Output: ciphertexts per image: 7 label: 7 predicted: 7
}
