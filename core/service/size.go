package service

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
)

// ParseSize reads a byte count: a number with an optional unit, B, K/KB/KiB, M/MB/MiB,
// G/GB/GiB or T/TB/TiB (all powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, errs.New(errs.ErrInvalidArgument, "size %q: want a number of bytes with an optional unit (KiB, MiB, GiB)", s)
	}
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
		"G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40}
	k, ok := shift[unit]
	if !ok {
		return 0, errs.New(errs.ErrInvalidArgument, "size %q: unknown unit %q (want KiB, MiB, GiB or TiB)", s, unit)
	}
	return int64(v * float64(uint64(1)<<k)), nil
}

// byteSize formats a byte count for messages.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n), 0
	for v >= unit && exp < 4 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[exp-1])
}
