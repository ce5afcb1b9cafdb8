//go:build !amd64

package kernel

func uniformIFMA(dst *uint64, src *uint64, n int, q uint64, skip uint64) int { unreachable(); return 0 }
