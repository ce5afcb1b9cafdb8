// Command capi is the C ABI of cryptonets, built as a shared library by CMake (and by
// the Python package's setup.py) as:
//
//	go build -buildmode=c-shared -o libcryptonets.so.1 \
//	  -ldflags=-extldflags=-Wl,--version-script=capi/cryptonets.map,-soname,libcryptonets.so.1 ./capi
//
// It holds cgo exports only: handles, status codes and panic recovery around the Go
// API of core/. The contract is the hand-written include/cryptonets.h; shim.c defines
// its cn_* functions on top of the cngo_* exports of this package, and the version
// script cryptonets.map keeps every other symbol local. A plain go build without those
// flags works but exports the Go runtime's symbols too and sets no soname. See
// docs/c-api.md.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -std=gnu11 -Wall -Wextra -Wno-unused-parameter
*/
import "C"

func main() {}
