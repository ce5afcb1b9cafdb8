package errs_test

import (
	"errors"
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/wire"
)

// Every error of the library carries its class: callers branch on the class, never
// on the message.
func ExampleClassOf() {
	_, err := wire.DecodeManifest([]byte("not a manifest"))
	fmt.Println(errors.Is(err, errs.ErrMalformed), errs.ClassOf(err), errs.Code(err))
	// Output: true malformed input 2
}
