// Package redistest starts a real redis-server for a test: on a Unix socket in a
// temporary directory (no TCP port), its data in an append-only file there so that
// a restart keeps it, evicting nothing, as docs/deploy.md configures Redis.
// scripts/setup.sh --test installs redis-server; without it the test is skipped
// (it fails when the CI variable is set).
package redistest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server of a test.
type Server struct {
	// URL reaches the server (unix://…/redis.sock).
	URL  string
	t    *testing.T
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a redis-server, stopped when t ends.
func Start(t *testing.T) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is missing: scripts/setup.sh --test installs it")
		}
		t.Skip("redis-server is missing: scripts/setup.sh --test installs it")
	}
	dir, err := os.MkdirTemp("", "cn-redis-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{URL: "unix://" + filepath.Join(dir, "redis.sock"), t: t, dir: dir}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again after Stop (on its data) and waits until it
// answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", filepath.Join(s.dir, "redis.sock"),
		"--dir", s.dir, "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	c := s.Client()
	defer c.Close()
	for start := time.Now(); c.Ping(context.Background()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			s.t.Fatal("redis-server did not answer within 10 s")
		}
	}
}

// Stop shuts the server down (SIGINT: it writes its data first) and waits for it.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd != nil {
		s.cmd.Process.Signal(os.Interrupt)
		<-s.done
		s.cmd = nil
	}
}

// Client returns a plain client of the server, to look behind a store; the caller
// closes it.
func (s *Server) Client() *redis.Client {
	opts, err := redis.ParseURL(s.URL)
	if err != nil {
		s.t.Fatal(err)
	}
	return redis.NewClient(opts)
}
