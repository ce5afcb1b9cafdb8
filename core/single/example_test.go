package single_test

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/mnist"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/single"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Classify one MNIST image under single-image packing. The insecure preset keeps the
// example fast; use params.N13S for 128-bit security.
func Example() {
	m, _ := model.Load("../../models/mnist/mnist_cryptonets.cnm")
	p, err := single.Compile(m, params.InsecureN12S)
	if err != nil {
		panic(err)
	}
	// Client: keys, then one encrypted image.
	sk := rlwe.NewKeyGenerator(p.Parameters()).GenSecretKeyNew()
	evk, _ := p.EvaluationKeys(sk) // sent to the server once
	client, _ := single.NewClient(p, sk)
	set, _ := mnist.Test()
	in, _ := client.Encrypt(set.Images[0])

	// Server.
	out, err := p.Evaluate(in, evk)
	if err != nil {
		panic(err)
	}

	// Client.
	logits, _ := client.Decrypt(out)
	fmt.Println("ciphertexts per image:", len(in), "label:", set.Labels[0], "predicted:", model.Argmax(logits))
	// Output: ciphertexts per image: 13 label: 7 predicted: 7
}
