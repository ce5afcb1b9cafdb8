package memstat

import (
	"runtime"
	"testing"
)

func TestPeakRSSGrowsWithUse(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux-only")
	}
	before := PeakRSS()
	if before <= 0 {
		t.Fatal("no peak RSS on Linux")
	}
	buf := make([]byte, 256<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if after := PeakRSS(); after < before+200<<20 {
		t.Fatalf("peak RSS %d after touching 256 MiB, %d before", after, before)
	}
	runtime.KeepAlive(buf)
}
