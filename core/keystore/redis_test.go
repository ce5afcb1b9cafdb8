package keystore_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/redistest"
	"github.com/cryptonets/cryptonets/core/keystore"
)

func openRedis(t *testing.T, url string) *keystore.Redis {
	t.Helper()
	s, err := keystore.OpenRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// randomKeys returns n random bytes: keys of 2.5 chunks make a short last chunk.
func randomKeys(n int) []byte {
	out := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(out)
	return out
}

func TestRedisIsAStore(t *testing.T) {
	r := redistest.Start(t)
	checkStore(t, openRedis(t, r.URL), randomKeys(keystore.RedisChunk*5/2))
}

// Two stores on one Redis are two replicas: what one stores the other serves,
// deletes are seen by both, and a replay through either changes nothing.
func TestRedisStoresShareKeys(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	one, two := openRedis(t, r.URL), openRedis(t, r.URL)
	data := randomKeys(keystore.RedisChunk + 1000)
	id := keystore.Sum(data)
	if created, err := one.Put(ctx, "alice", id, data); err != nil || !created {
		t.Fatalf("Put: %v, %v", created, err)
	}
	if got, err := two.Get(ctx, "alice", id); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the other store: %d bytes, %v", len(got), err)
	}
	if created, err := two.Put(ctx, "alice", id, data); err != nil || created {
		t.Fatalf("replay through the other store: created %v, %v", created, err)
	}
	if u, _ := two.Usage(ctx, "alice"); u != int64(len(data)) {
		t.Errorf("usage %d after a replay, want %d", u, len(data))
	}
	if err := two.Delete(ctx, "alice", id); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Size(ctx, "alice", id); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("deleted through the other store, still here: %v", err)
	}
}

// Uploads and deletes of the same keys racing each other leave a consistent store:
// the keys whole or absent, the usage their length or zero.
func TestRedisPutDeleteRace(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	s := openRedis(t, r.URL)
	data := randomKeys(3 * keystore.RedisChunk)
	id := keystore.Sum(data)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 5 {
				var err error
				if w%2 == 0 {
					_, err = s.Put(ctx, "t", id, data)
				} else if err = s.Delete(ctx, "t", id); errors.Is(err, keystore.ErrNotFound) {
					err = nil
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	u, _ := s.Usage(ctx, "t")
	got, err := s.Get(ctx, "t", id)
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		if u != 0 {
			t.Errorf("no keys but usage %d", u)
		}
	case err != nil:
		t.Fatal(err)
	case !bytes.Equal(got, data) || u != int64(len(data)):
		t.Errorf("keys of %d bytes, usage %d, want %d", len(got), u, len(data))
	}
}

// A damaged or lost chunk is an integrity error, never keys; an upload that did not
// commit leaves chunks that expire and no key; a committed key's chunks do not
// expire.
func TestRedisChecksWhatItReads(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	s, raw := openRedis(t, r.URL), r.Client()
	defer raw.Close()
	data := randomKeys(2 * keystore.RedisChunk)
	id := keystore.Sum(data)
	if _, err := s.Put(ctx, "alice", id, data); err != nil {
		t.Fatal(err)
	}
	meta := "cryptonets:keys:alice:" + id.String()
	if ttl, err := raw.TTL(ctx, meta+":1").Result(); err != nil || ttl != -1 {
		t.Errorf("a committed chunk's TTL: %v, %v (want none)", ttl, err)
	}
	if err := raw.SetRange(ctx, meta+":1", 5, "x").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice", id); !errors.Is(err, errs.ErrIntegrity) {
		t.Errorf("a damaged chunk: %v", err)
	}
	if err := raw.Del(ctx, meta+":1").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice", id); !errors.Is(err, errs.ErrIntegrity) {
		t.Errorf("a lost chunk: %v", err)
	}
	if err := raw.HSet(ctx, meta, "bytes", "-3").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Size(ctx, "alice", id); !errors.Is(err, errs.ErrIntegrity) {
		t.Errorf("a damaged hash: %v", err)
	}

	// The chunks of an upload that never committed (a server killed mid-Put).
	other := randomKeys(100)
	otherMeta := "cryptonets:keys:alice:" + keystore.Sum(other).String()
	if err := raw.Set(ctx, otherMeta+":0", other, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice", keystore.Sum(other)); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("uncommitted keys: %v", err)
	}
	if created, err := s.Put(ctx, "alice", keystore.Sum(other), other); err != nil || !created {
		t.Fatalf("Put over an interrupted upload: %v, %v", created, err)
	}
	if ttl, _ := raw.TTL(ctx, otherMeta+":0").Result(); ttl != -1 {
		t.Errorf("the chunk of the interrupted upload still expires after a commit: TTL %v", ttl)
	}
}

// A Redis that is down fails requests fast with ErrUnavailable (class ErrIO); once
// it is back, with its data, the same store serves again.
func TestRedisDownAndBack(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	s := openRedis(t, r.URL)
	data := randomKeys(1000)
	id := keystore.Sum(data)
	if _, err := s.Put(ctx, "", id, data); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	start := time.Now()
	for _, op := range []func() error{
		func() error { _, err := s.Get(ctx, "", id); return err },
		func() error { _, err := s.Put(ctx, "", keystore.Sum([]byte("x")), []byte("x")); return err },
		func() error { _, err := s.Usage(ctx, ""); return err },
		func() error { return s.Ping(ctx) },
	} {
		if err := op(); !errors.Is(err, keystore.ErrUnavailable) || !errors.Is(err, errs.ErrIO) {
			t.Errorf("Redis down: %v", err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failing took %v", d)
	}
	r.Restart()
	var got []byte
	var err error
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(100 * time.Millisecond) {
		if got, err = s.Get(ctx, "", id); err == nil {
			break
		}
	}
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after the restart: %d bytes, %v", len(got), err)
	}
}

func TestOpenRedisRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"http://localhost:6379", "redis://host:port:x", "redis://localhost/notadb"} {
		if _, err := keystore.OpenRedis(u); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("OpenRedis(%q): %v", u, err)
		}
	}
	for u, want := range map[string]bool{"redis://h:1/0": true, "rediss://h": true, "unix:///s": true, "/var/lib/keys": false, "keys": false} {
		if keystore.IsRedisURL(u) != want {
			t.Errorf("IsRedisURL(%q) = %v", u, !want)
		}
	}
}

// A full Redis (maxmemory reached, noeviction) refuses an upload as a limit, and
// keeps what it has.
func TestRedisFull(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	raw := r.Client()
	defer raw.Close()
	s := openRedis(t, r.URL)
	small := randomKeys(1000)
	if _, err := s.Put(ctx, "", keystore.Sum(small), small); err != nil {
		t.Fatal(err)
	}
	if err := raw.ConfigSet(ctx, "maxmemory", "4mb").Err(); err != nil {
		t.Fatal(err)
	}
	big := randomKeys(3 * keystore.RedisChunk)
	if _, err := s.Put(ctx, "", keystore.Sum(big), big); !errors.Is(err, errs.ErrLimit) || !strings.Contains(err.Error(), "Redis is full") {
		t.Errorf("Put into a full Redis: %v", err)
	}
	if got, err := s.Get(ctx, "", keystore.Sum(small)); err != nil || !bytes.Equal(got, small) {
		t.Errorf("the keys stored before: %v", err)
	}
}
