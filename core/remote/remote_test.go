package remote_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/remote"
)

// busyThen answers 503 (with Retry-After 0) busy times, then a list of models.
func busyThen(busy int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= busy {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"class":"resource limit exceeded","code":9,"status":503,"message":"busy"}}`))
			return
		}
		w.Write([]byte(`{"models":[{"name":"m"}]}`))
	}))
	return srv, &calls
}

func TestRetriesABusyServer(t *testing.T) {
	srv, calls := busyThen(3)
	defer srv.Close()
	svc, err := remote.Connect(srv.URL, remote.Options{Attempts: 4, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	models, err := svc.Models(context.Background())
	if err != nil || len(models) != 1 || models[0].Name != "m" {
		t.Fatalf("Models: %v, %v", models, err)
	}
	if calls.Load() != 4 || svc.Retries() != 3 {
		t.Errorf("%d calls, %d retries; want 4 and 3", calls.Load(), svc.Retries())
	}
}

func TestGivesUpAfterAttempts(t *testing.T) {
	srv, calls := busyThen(100)
	defer srv.Close()
	svc, err := remote.Connect(srv.URL, remote.Options{Attempts: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Models(context.Background())
	if !errors.Is(err, errs.ErrLimit) || httpapi.StatusOf(err) != http.StatusServiceUnavailable || calls.Load() != 3 {
		t.Errorf("after %d calls: %v (HTTP %d); want a limit error with status 503 after 3", calls.Load(), err, httpapi.StatusOf(err))
	}
}

func TestErrorsKeepTheirClass(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"error":{"class":"mismatch","code":3,"status":409,"message":"keys for another plan"}}`))
	}))
	defer srv.Close()
	svc, err := remote.Connect(srv.URL, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Model(context.Background(), "m")
	if !errors.Is(err, errs.ErrMismatch) || httpapi.StatusOf(err) != http.StatusConflict {
		t.Errorf("got %v (HTTP %d), want a mismatch with status 409, not retried", err, httpapi.StatusOf(err))
	}
}

func TestRetriesARefusedConnection(t *testing.T) {
	srv, _ := busyThen(0)
	url := srv.URL
	srv.Close() // nothing listens there now
	svc, err := remote.Connect(url, remote.Options{Attempts: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Models(context.Background()); !errors.Is(err, errs.ErrIO) || svc.Retries() != 2 {
		t.Errorf("%v after %d retries; want an I/O error after 2", err, svc.Retries())
	}
}

func TestConnectRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		if _, err := remote.Connect(u, remote.Options{}); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("Connect(%q): %v", u, err)
		}
	}
}
