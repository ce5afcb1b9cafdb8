package main

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/cryptonets/cryptonets/core/wire"
)

func TestCodeMapsSentinelsBeforeDefaults(t *testing.T) {
	_, openErr := os.Open("/nonexistent/cryptonets")
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"mismatch wins over format", fmt.Errorf("x: %w", wire.ErrMismatch), statusMismatch},
		{"format", fmt.Errorf("x: %w", wire.ErrFormat), statusFormat},
		{"default does not hide a sentinel", orCode(statusInternal, fmt.Errorf("y: %w", wire.ErrMismatch)), statusMismatch},
		{"os error", orCode(statusFormat, fmt.Errorf("model file: %w", openErr)), statusIO},
		{"default", orCode(statusInvalidArgument, errors.New("plain")), statusInvalidArgument},
		{"forced wins", errorf(statusBufferTooSmall, "%w", wire.ErrFormat), statusBufferTooSmall},
		{"unknown is internal", errors.New("plain"), statusInternal},
	}
	for _, c := range cases {
		if got := int(code(c.err)); got != c.want {
			t.Errorf("%s: code %d, want %d", c.name, got, c.want)
		}
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
