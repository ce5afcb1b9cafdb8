//go:build !amd64

package kernel

// Only the pure-Go path exists off amd64.
const (
	hasAVX2   = false
	hasAVX512 = false
)
