package keystore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/keystore"
)

func TestIDRoundTrip(t *testing.T) {
	id := keystore.Sum([]byte("keys"))
	got, err := keystore.ParseID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseID(%s) = %v, %v", id, got, err)
	}
	for _, bad := range []string{"", "00", id.String()[:63] + "g", id.String() + "00"} {
		if _, err := keystore.ParseID(bad); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("ParseID(%q): %v", bad, err)
		}
	}
}

// TestDirKeepsKeysAcrossRestarts checks what the directory adds to every Store's
// promises (checkStore, in TestDirIsAStore): a restart keeps every key and every
// owner's usage and removes a crash's temporary file, and a damaged file is an
// integrity error.
func TestDirKeepsKeysAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := keystore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte("keys of alice"), []byte("other keys")
	ida, idb := keystore.Sum(a), keystore.Sum(b)
	for owner, data := range map[string][]byte{"alice": a, "": b} {
		if _, err := d.Put(ctx, owner, keystore.Sum(data), data); err != nil {
			t.Fatal(err)
		}
	}
	stale := filepath.Join(root, "alice", ".tmp-123")
	if err := os.WriteFile(stale, []byte("half a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err = keystore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file survived: %v", err)
	}
	if got, err := d.Get(ctx, "", idb); err != nil || !bytes.Equal(got, b) {
		t.Errorf("after reopening: %q, %v", got, err)
	}
	for owner, want := range map[string]int64{"alice": int64(len(a)), "": int64(len(b))} {
		if u, _ := d.Usage(ctx, owner); u != want {
			t.Errorf("%q's usage %d after reopening, want %d", owner, u, want)
		}
	}

	path := filepath.Join(root, "alice", ida.String()+".keys")
	if err := os.WriteFile(path, []byte("keys of alicf"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "alice", ida); !errors.Is(err, errs.ErrIntegrity) {
		t.Errorf("damaged keys: %v", err)
	}
}
