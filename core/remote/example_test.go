package remote_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/remote"
)

// Predict any number of images with a model served by cryptonets serve: the plan is
// chosen for their number, the keys made and uploaded once, the requests sent two
// at a time, and the logits come back in input order. (Compiled, not run: it needs
// a server.)
func Example() {
	svc, err := remote.Connect("http://localhost:8080", remote.Options{Token: os.Getenv("CRYPTONETS_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	var images [][]float64 // each 784 pixels in [0, 1] for MNIST
	logits, err := svc.Predict(context.Background(), "mnist", images, remote.Plan{})
	if err != nil {
		log.Fatal(err)
	}
	for i, l := range logits {
		fmt.Println(i, model.Argmax(l))
	}
}
