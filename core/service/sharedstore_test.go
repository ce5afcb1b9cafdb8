package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/internal/redistest"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/remote"
	"github.com/cryptonets/cryptonets/core/service"
)

// replica is a service on a Redis store, as one replica of a cluster.
func replica(t *testing.T, redisURL string) *env {
	t.Helper()
	store, err := keystore.OpenRedis(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, service.Config{Store: store}, "")
}

// session opens a session of the single-image plan on e with the keys kept in
// keysDir (the same client's keys on every replica).
func session(t *testing.T, e *env, keysDir string, attempts int) *remote.Session {
	t.Helper()
	sess, err := e.connect(remote.Options{KeysDir: keysDir, Attempts: attempts}).Session(context.Background(), "mnist", singlePlan)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// TestReplicasShareKeysInRedis: two services on one Redis are two replicas. Keys
// uploaded to one are served by the other without an upload; with Redis down, keys
// a replica has cached keep working and the others get a 503 that says why, with
// Retry-After, until Redis is back; keys deleted through one replica are no longer
// served by the other.
func TestReplicasShareKeysInRedis(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	one, two := replica(t, r.URL), replica(t, r.URL)
	images := testImages(t, 4)
	cachedDir, uncachedDir := t.TempDir(), t.TempDir()

	logits, err := session(t, one, cachedDir, 0).Predict(ctx, images, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, one.model, images, logits)
	cached := session(t, two, cachedDir, 1)
	if logits, err = cached.Predict(ctx, images, nil); err != nil {
		t.Fatal(err)
	}
	checkLabels(t, two.model, images, logits)
	if puts := two.logs.count(func(r map[string]any) bool { return r["method"] == "PUT" }); puts != 0 {
		t.Errorf("the second replica received %d uploads of keys, want none", puts)
	}
	// Keys uploaded through one and never used on two: sessions on two that try once
	// and that retry.
	session(t, one, uncachedDir, 0)
	uncachedOnce, uncached := session(t, two, uncachedDir, 1), session(t, two, uncachedDir, 0)
	if up := two.metric("cryptonets_key_store_up"); up != 1 {
		t.Errorf("cryptonets_key_store_up %v with Redis up", up)
	}

	r.Stop()
	if logits, err = cached.Predict(ctx, images, nil); err != nil {
		t.Fatalf("cached keys with Redis down: %v", err)
	}
	checkLabels(t, two.model, images, logits)
	_, err = uncachedOnce.Predict(ctx, images, nil)
	if httpapi.StatusOf(err) != http.StatusServiceUnavailable || !errors.Is(err, errs.ErrIO) || !strings.Contains(err.Error(), "key store is unavailable") {
		t.Errorf("uncached keys with Redis down: %v (want 503, an i/o error saying the key store is unavailable)", err)
	}
	keyID := keyIDIn(t, uncachedDir)
	resp, err := http.Get(two.url + "/v1/keys/" + keyID)
	if err != nil {
		t.Fatal(err)
	}
	var body httpapi.ErrorBody
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || body.Error.Class != errs.ErrIO.Error() {
		t.Errorf("GET /v1/keys/{id} with Redis down: HTTP %d, Retry-After %q, %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if up := two.metric("cryptonets_key_store_up"); up != 0 {
		t.Errorf("cryptonets_key_store_up %v with Redis down", up)
	}

	r.Restart()
	if logits, err = uncached.Predict(ctx, images, nil); err != nil {
		t.Fatalf("after Redis is back: %v", err)
	}
	checkLabels(t, two.model, images, logits)

	if status, _ := one.do(http.MethodDelete, "/v1/keys/"+keyID, nil, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE: HTTP %d", status)
	}
	_, err = uncachedOnce.Predict(ctx, images, nil)
	if status := httpapi.StatusOf(err); status != http.StatusNotFound {
		t.Errorf("keys deleted through the other replica: %v (HTTP %d, want 404)", err, status)
	}
}

// keyIDIn returns the id of the evaluation keys a client kept in keysDir.
func keyIDIn(t *testing.T, keysDir string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(keysDir, "*.eval-keys"))
	if len(matches) != 1 {
		t.Fatalf("%d evaluation keys in %s", len(matches), keysDir)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return keystore.Sum(data).String()
}
