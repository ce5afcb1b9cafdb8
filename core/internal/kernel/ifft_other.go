//go:build !amd64

package kernel

func ifftStageAVX512(values *complex128, n int, lenh int, tw *complex128) { unreachable() }
func ifftLastAVX512(values *complex128, n int, tw *complex128)            { unreachable() }
func ifftStageAVX2(values *complex128, n int, lenh int, tw *complex128)   { unreachable() }
func ifftLastAVX2(values *complex128, n int, tw *complex128)              { unreachable() }
