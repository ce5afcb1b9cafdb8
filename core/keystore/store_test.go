package keystore_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/keystore"
)

// checkStore checks what every Store promises, on an empty store: content-addressed
// Put (a replay changes nothing, a race of the same upload stores it once), Get
// checked against the id, owners kept apart, Size, Usage and Delete.
func checkStore(t *testing.T, s keystore.Store, big []byte) {
	t.Helper()
	ctx := context.Background()
	a, b := []byte("keys of alice"), []byte("other keys")
	ida, idb, idBig := keystore.Sum(a), keystore.Sum(b), keystore.Sum(big)
	if created, err := s.Put(ctx, "alice", ida, a); err != nil || !created {
		t.Fatalf("Put: %v, %v", created, err)
	}
	if created, err := s.Put(ctx, "alice", ida, a); err != nil || created {
		t.Fatalf("second Put: created %v, %v (want an idempotent no-op)", created, err)
	}
	if _, err := s.Put(ctx, "alice", idb, a); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Put under another digest: %v", err)
	}
	if _, err := s.Put(ctx, "../x", idb, b); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Put for owner ../x: %v", err)
	}
	if _, err := s.Put(ctx, "", idb, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "alice", idBig, big); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[keystore.ID][]byte{ida: a, idBig: big} {
		got, err := s.Get(ctx, "alice", id)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Get %s: %d bytes, %v (want %d)", id, len(got), err, len(want))
		}
		if n, err := s.Size(ctx, "alice", id); err != nil || n != int64(len(want)) {
			t.Errorf("Size = %d, %v, want %d", n, err, len(want))
		}
	}
	if _, err := s.Get(ctx, "bob", ida); !errors.Is(err, keystore.ErrNotFound) || !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("bob read alice's keys: %v", err)
	}
	if _, err := s.Size(ctx, "alice", idb); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("alice saw the anonymous keys: %v", err)
	}
	if u, _ := s.Usage(ctx, "alice"); u != int64(len(a)+len(big)) {
		t.Errorf("alice's usage %d, want %d", u, len(a)+len(big))
	}
	if u, _ := s.Usage(ctx, ""); u != int64(len(b)) {
		t.Errorf("anonymous usage %d, want %d", u, len(b))
	}

	// Eight uploads of the same keys at once store them once.
	var wg sync.WaitGroup
	created := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			c, err := s.Put(ctx, "carol", idBig, big)
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
	if u, _ := s.Usage(ctx, "carol"); n != 1 || u != int64(len(big)) {
		t.Errorf("%d Puts created the keys, usage %d (want 1 and %d)", n, u, len(big))
	}

	for _, id := range []keystore.ID{ida, idBig} {
		if err := s.Delete(ctx, "alice", id); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "alice", id); !errors.Is(err, keystore.ErrNotFound) {
			t.Errorf("second Delete: %v", err)
		}
	}
	if _, err := s.Get(ctx, "alice", idBig); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if u, _ := s.Usage(ctx, "alice"); u != 0 {
		t.Errorf("usage %d after Delete", u)
	}
}

func TestDirIsAStore(t *testing.T) {
	d, err := keystore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	checkStore(t, d, bytes.Repeat([]byte("k"), 1<<16))
}
