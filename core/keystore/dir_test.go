package keystore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
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

func TestDirStoresChecksAndKeepsKeys(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := keystore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte("keys of alice"), []byte("other keys")
	ida, idb := keystore.Sum(a), keystore.Sum(b)
	if created, err := d.Put(ctx, "alice", ida, a); err != nil || !created {
		t.Fatalf("Put: %v, %v", created, err)
	}
	if created, err := d.Put(ctx, "alice", ida, a); err != nil || created {
		t.Fatalf("second Put: created %v, %v (want an idempotent no-op)", created, err)
	}
	if _, err := d.Put(ctx, "alice", idb, a); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Put under another digest: %v", err)
	}
	if _, err := d.Put(ctx, "../x", idb, b); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Put for owner ../x: %v", err)
	}
	if _, err := d.Put(ctx, "", idb, b); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx, "alice", ida)
	if err != nil || !bytes.Equal(got, a) {
		t.Fatalf("Get: %q, %v", got, err)
	}
	if _, err := d.Get(ctx, "bob", ida); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("bob read alice's keys: %v", err)
	}
	if _, err := d.Get(ctx, "alice", idb); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("alice read the anonymous keys: %v", err)
	}
	if n, err := d.Size(ctx, "alice", ida); err != nil || n != int64(len(a)) {
		t.Errorf("Size = %d, %v", n, err)
	}
	if u, _ := d.Usage(ctx, "alice"); u != int64(len(a)) {
		t.Errorf("alice's usage %d, want %d", u, len(a))
	}

	// A restart keeps every key and every owner's usage; a temporary file left by a
	// crash is removed.
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
	if u, _ := d.Usage(ctx, ""); u != int64(len(b)) {
		t.Errorf("anonymous usage %d after reopening, want %d", u, len(b))
	}

	// A damaged file is an integrity error, not keys.
	path := filepath.Join(root, "alice", ida.String()+".keys")
	if err := os.WriteFile(path, []byte("keys of alicf"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "alice", ida); !errors.Is(err, errs.ErrIntegrity) {
		t.Errorf("damaged keys: %v", err)
	}

	if err := d.Delete(ctx, "alice", ida); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "alice", ida); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if u, _ := d.Usage(ctx, "alice"); u != 0 {
		t.Errorf("usage %d after Delete", u)
	}
}

func TestDirConcurrentPutsOfTheSameKeys(t *testing.T) {
	d, err := keystore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("k"), 1<<16)
	id := keystore.Sum(data)
	var wg sync.WaitGroup
	created := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			c, err := d.Put(context.Background(), "t", id, data)
			if err != nil {
				t.Error(err)
			}
			created <- c
		})
	}
	wg.Wait()
	close(created)
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	if u, _ := d.Usage(context.Background(), "t"); n != 1 || u != int64(len(data)) {
		t.Errorf("%d Puts created the keys, usage %d (want 1 and %d)", n, u, len(data))
	}
}
