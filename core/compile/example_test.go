package compile_test

import (
	"context"
	"fmt"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// Example is the README's Go example: the client encrypts, the server predicts on
// bytes without any secret, the client decrypts (128-bit parameters).
func Example() {
	set, _ := dataset.MNIST(dataset.MNISTTest, 0)
	images := set.Records[:3]

	m, _ := model.Load("../../models/mnist/mnist_cryptonets.cnm")
	plan, _ := compile.Compile(m, compile.Options{}) // 128-bit by default
	manifest := plan.Manifest()                      // public: what the client needs

	c, _ := client.New(&manifest)                     // client: the secret key stays here
	upload, request, _ := c.EncryptBytes(images, nil) // [][]float64, pixels in [0,1]

	keys, _ := c.EvaluationKeysBytes() // public: sent to the server once
	evk, _ := wire.DecodeEvaluationKeys(keys, &manifest)
	s, _ := server.New(plan, evk) // server: no secret key anywhere
	download, _ := s.PredictBytes(context.Background(), upload, nil)

	logits, _ := c.DecryptBytes(request, download) // [][]float64
	for i := range logits {
		fmt.Println(model.Argmax(logits[i]), set.Labels[i])
	}
	// Output:
	// 7 7
	// 2 2
	// 1 1
}
