package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/service"
)

// envPrefix starts the environment variables that set serve's flags: --key-cache is
// CRYPTONETS_KEY_CACHE. Flags on the command line win.
const envPrefix = "CRYPTONETS_"

// modelFlags collects repeated --model PATH or NAME=PATH.
type modelFlags []string

func (m *modelFlags) String() string { return strings.Join(*m, ",") }
func (m *modelFlags) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*m = append(*m, part)
		}
	}
	return nil
}

// sizeFlag is a byte count flag that takes units (4GiB, 512MiB).
type sizeFlag int64

func (s *sizeFlag) String() string {
	n := int64(*s)
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprint(n)
}
func (s *sizeFlag) Set(v string) error {
	n, err := service.ParseSize(v)
	*s = sizeFlag(n)
	return err
}

// runtimeOverhead is the memory serve sets aside beyond the live heap it budgets:
// the runtime, goroutine stacks, connection buffers and the pages of the binary
// itself (about 20 MiB resident), which the Go runtime's memory limit does not count.
const runtimeOverhead = 64 << 20

// runServe is the serve command.
func runServe(c *cli, args []string) error {
	fs := c.flags("--model PATH [--model NAME=PATH …] [--listen ADDR] [--keys-dir DIR] [--memory SIZE] [flags]", `
Serves converted models over HTTP (HTTP/1.1 and HTTP/2; h2c without TLS) to clients
that hold the secret keys: cryptonets remote, the Go package core/remote and Python's
cryptonets.remote. The API is in docs/service.md. Evaluation keys are kept in
--keys-dir (content-addressed; a restart keeps them), or in the Redis --key-store
that several replicas share (docs/deploy.md), and decoded in a cache of at most
--key-cache bytes. --memory bounds the whole process: what the models, the key
cache and the runtime do not take is the budget of work in flight (evaluations,
key uploads, compiled plans); requests beyond it wait in a queue of --queue, for at
most --queue-timeout, then get 503 with Retry-After. SIGTERM or SIGINT stops
accepting connections, finishes the requests in flight and exits.

Every flag can also be set by an environment variable: CRYPTONETS_ and the flag's
name in capitals with '_' for '-' (CRYPTONETS_KEY_CACHE=1GiB; CRYPTONETS_MODEL takes
a comma-separated list). Logs are structured (log/slog) on stderr, JSON with --json;
they never print a key or a ciphertext.`)
	var models modelFlags
	fs.Var(&models, "model", "a converted model to serve, `PATH` or NAME=PATH (named by its file stem otherwise); repeat for more (required)")
	listen := fs.String("listen", ":8080", "host:port `ADDR` to listen on")
	keysDir := fs.String("keys-dir", "cryptonets-keys", "`DIR` of the key store")
	keyStore := fs.String("key-store", "", "`URL` of a Redis key store that replicas share, used instead of --keys-dir: redis://host:port/db, rediss://… (TLS) or unix:///socket")
	memory := sizeFlag(4 << 30)
	fs.Var(&memory, "memory", "memory `SIZE` of the whole server (units: KiB, MiB, GiB)")
	keyCache := sizeFlag(0)
	fs.Var(&keyCache, "key-cache", "`SIZE` of the cache of decoded evaluation keys (default a quarter of --memory)")
	queue := fs.Int("queue", 64, "most requests `N` waiting for memory")
	queueTimeout := fs.Duration("queue-timeout", 30*time.Second, "longest a request waits for memory")
	plans := fs.Int("plans", 16, "most compiled plans `N` held")
	maxKeys := sizeFlag(2 << 30)
	fs.Var(&maxKeys, "max-key-bytes", "`SIZE` of the largest upload of evaluation keys")
	bodyTimeout := fs.Duration("body-timeout", 30*time.Second, "time to read a body, plus its size at --min-upload-rate")
	minRate := sizeFlag(1 << 20)
	fs.Var(&minRate, "min-upload-rate", "slowest upload, `SIZE` per second, that a body's deadline allows for")
	headerTimeout := fs.Duration("header-timeout", 10*time.Second, "time to read a request's headers")
	idleTimeout := fs.Duration("idle-timeout", 2*time.Minute, "how long an idle kept-alive connection stays open")
	shutdownTimeout := fs.Duration("shutdown-timeout", 5*time.Minute, "longest a shutdown waits for requests in flight")
	tokensPath := fs.String("tokens", "", "bearer tokens `FILE`: lines NAME TOKEN [key-bytes=SIZE] [in-flight=N]; without it, no token is needed")
	quotaKeys := sizeFlag(0)
	fs.Var(&quotaKeys, "quota-key-bytes", "default `SIZE` of stored keys per token (0: no limit)")
	quotaInFlight := fs.Int("quota-in-flight", 0, "default requests `N` in flight per token (0: no limit)")
	tlsCert := fs.String("tls-cert", "", "certificate `FILE` (PEM): serve HTTPS")
	tlsKey := fs.String("tls-key", "", "private key `FILE` (PEM) of --tls-cert")
	tlsClientCA := fs.String("tls-client-ca", "", "CA certificates `FILE` (PEM): require client certificates signed by them (mutual TLS)")
	insecure := fs.Bool("insecure", false, "accept plans with Insecure… parameters (tests only: NOT secure)")
	logLevel := fs.String("log-level", "info", "`LEVEL` of logs: debug, info, warn, error")
	jsonLogs := fs.Bool("json", false, "write logs as JSON lines")
	if err := flagsFromEnv(fs, args); err != nil {
		return err
	}
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if len(models) == 0 {
		return errs.New(errs.ErrInvalidArgument, "flag --model is required (see '%s -h')", c.name)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return errs.New(errs.ErrInvalidArgument, "--log-level %q: want debug, info, warn or error", *logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewTextHandler(c.stderr, hopts)
	if *jsonLogs {
		handler = slog.NewJSONHandler(c.stderr, hopts)
	}
	log := slog.New(handler)

	cfg := service.Config{KeyCache: int64(keyCache), Queue: *queue, QueueTimeout: *queueTimeout, MaxPlans: *plans,
		MaxKeyBytes: int64(maxKeys), BodyTimeout: *bodyTimeout, MinUploadRate: int64(minRate), Insecure: *insecure,
		Quota: service.Quota{KeyBytes: int64(quotaKeys), InFlight: *quotaInFlight}, Logger: log}
	if cfg.KeyCache == 0 {
		cfg.KeyCache = int64(memory) / 4
	}
	for _, spec := range models {
		name, path, named := strings.Cut(spec, "=")
		if !named {
			path, name = spec, strings.TrimSuffix(filepath.Base(spec), filepath.Ext(spec))
		}
		m, err := loadConverted(path)
		if err != nil {
			return err
		}
		cfg.Models = append(cfg.Models, service.Model{Name: name, Model: m})
	}
	if *tokensPath != "" {
		tokens, err := service.LoadTokens(*tokensPath, cfg.Quota)
		if err != nil {
			return err
		}
		cfg.Tokens = tokens
	}
	var opts service.ServeOptions
	if *tlsCert != "" || *tlsKey != "" {
		tlsCfg, err := service.TLSConfig(*tlsCert, *tlsKey, *tlsClientCA)
		if err != nil {
			return err
		}
		opts.TLS = tlsCfg
	} else if *tlsClientCA != "" {
		return errs.New(errs.ErrInvalidArgument, "--tls-client-ca needs --tls-cert and --tls-key")
	}
	opts.HeaderTimeout, opts.IdleTimeout, opts.ShutdownTimeout = *headerTimeout, *idleTimeout, *shutdownTimeout

	// The budget of work: --memory less the key cache, what is live now (the models)
	// and the runtime's share. The garbage collector lets garbage grow up to its
	// limit, so the limit leaves out the share it does not count (the binary's pages).
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cfg.WorkMemory = int64(memory) - cfg.KeyCache - int64(ms.HeapAlloc) - runtimeOverhead - int64(memory)/10
	if cfg.WorkMemory <= 0 {
		return errs.New(errs.ErrInvalidArgument, "--memory %s leaves nothing for work: the key cache takes %s, the models %s", byteSize(int64(memory)), byteSize(cfg.KeyCache), byteSize(int64(ms.HeapAlloc)))
	}
	debug.SetMemoryLimit(int64(memory) - runtimeOverhead)

	store, err := openKeyStore(*keyStore, *keysDir, log)
	if err != nil {
		return err
	}
	cfg.Store = store
	svc, err := service.New(cfg)
	if err != nil {
		return err
	}
	defer svc.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return errs.New(errs.ErrIO, "listen %s: %w", *listen, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return svc.Serve(ctx, ln, opts)
}

// flagsFromEnv sets every flag of fs that has an environment variable (envPrefix and
// the name in capitals, '-' as '_') and is not on the command line args.
func flagsFromEnv(fs *flag.FlagSet, args []string) error {
	given := map[string]bool{}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			given[name] = true
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && !given[f.Name] && err == nil {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = errs.New(errs.ErrInvalidArgument, "%s=%q: %w", name, v, serr)
			}
		}
	})
	return err
}

// openKeyStore opens the Redis store at url if given, else the directory store. A
// Redis that does not answer yet is only a warning: the server starts, serves plans
// that need no keys, and answers 503 for keys until the store is back.
func openKeyStore(url, dir string, log *slog.Logger) (keystore.Store, error) {
	if url == "" {
		return keystore.OpenDir(dir)
	}
	if !keystore.IsRedisURL(url) {
		return nil, errs.New(errs.ErrInvalidArgument, "--key-store %q: want a redis://, rediss:// or unix:// URL (a directory is --keys-dir)", url)
	}
	store, err := keystore.OpenRedis(url)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := store.Ping(ctx); err != nil {
		log.Warn("the key store does not answer yet; keys will be answered 503 until it does", slog.String("error", err.Error()))
	}
	return store, nil
}
