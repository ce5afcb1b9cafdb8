package main

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
)

// TestCodesMatchTheHeader checks that every error class maps to the CN_E_* code
// include/cryptonets.h gives it, and that codes are distinct.
func TestCodesMatchTheHeader(t *testing.T) {
	want := map[error]int{
		errs.ErrInvalidArgument: statusInvalidArgument, errs.ErrMalformed: statusMalformed,
		errs.ErrMismatch: statusMismatch, errs.ErrInsecure: statusInsecure, errs.ErrIO: statusIO,
		errs.ErrInternal: statusInternal, errs.ErrIntegrity: statusIntegrity, errs.ErrLimit: statusLimit,
		errs.ErrUnsupported: statusUnsupported,
	}
	if len(want) != len(errs.Classes()) {
		t.Fatalf("%d classes, the test knows %d", len(errs.Classes()), len(want))
	}
	for _, class := range errs.Classes() {
		if got := int(code(fmt.Errorf("wrapped: %w", errs.New(class, "x")))); got != want[class] {
			t.Errorf("%v: code %d, the header says %d", class, got, want[class])
		}
	}
	_, openErr := os.Open("/nonexistent/cryptonets")
	if got := int(code(fmt.Errorf("model file: %w", openErr))); got != statusIO {
		t.Errorf("os error: code %d, want %d", got, statusIO)
	}
	if got := int(code(bufferTooSmallf("%w", errs.ErrMalformed))); got != statusBufferTooSmall {
		t.Errorf("buffer too small: code %d", got)
	}
	if got := int(code(errors.New("plain"))); got != statusInternal {
		t.Errorf("unclassified: code %d, want %d", got, statusInternal)
	}
}

func TestGuardRecoversAndReports(t *testing.T) {
	if got := int(guard("cn_test", func() error { panic("boom") })); got != statusInternal {
		t.Fatalf("panic gave %d, want %d", got, statusInternal)
	}
	if got := int(guard("cn_test", func() error { return nil })); got != statusOK {
		t.Fatalf("success gave %d", got)
	}
}

func TestHandlesAreNeverReusedAndFreedOnesAreRefused(t *testing.T) {
	first, err := newHandle(&modelObj{})
	if err != nil {
		t.Fatal(err)
	}
	if err := release[*modelObj]("m", first); err != nil {
		t.Fatal(err)
	}
	seen := map[uintptr]bool{uintptr(first): true}
	for range 3 * slotsPerChunk {
		p, err := newHandle(&manifestObj{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[uintptr(p)] {
			t.Fatalf("address %p handed out twice", p)
		}
		seen[uintptr(p)] = true
		if _, err := get[*modelObj]("m", p); int(code(err)) != statusInvalidArgument {
			t.Fatalf("mistyped lookup: %v", err)
		}
		if err := release[*manifestObj]("m", p); err != nil {
			t.Fatal(err)
		}
	}
	// first's chunk has been retired (made inaccessible): the registry must refuse
	// the pointer without reading it.
	if _, err := get[*modelObj]("m", first); int(code(err)) != statusInvalidArgument {
		t.Fatalf("freed handle: %v", err)
	}
	if err := release[*modelObj]("m", first); int(code(err)) != statusInvalidArgument {
		t.Fatalf("double free: %v", err)
	}
}
