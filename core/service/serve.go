package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
)

// ServeOptions are the connection settings of Serve.
type ServeOptions struct {
	// TLS, if set, serves HTTPS (HTTP/1.1 and HTTP/2); without, plain HTTP/1.1 and
	// HTTP/2 without TLS (h2c, prior knowledge).
	TLS *tls.Config
	// HeaderTimeout bounds the time to read a request's headers (default 10 s);
	// IdleTimeout how long a kept-alive connection may wait for the next request
	// (default 120 s).
	HeaderTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds how long a shutdown waits for the requests in flight
	// (default 5 min).
	ShutdownTimeout time.Duration
}

// Serve serves the service on ln until ctx is done, then shuts down gracefully: it
// stops being ready, stops accepting connections, lets the requests in flight finish
// (up to the shutdown timeout) and returns nil.
func (s *Service) Serve(ctx context.Context, ln net.Listener, opts ServeOptions) error {
	if opts.HeaderTimeout == 0 {
		opts.HeaderTimeout = 10 * time.Second
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 120 * time.Second
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 5 * time.Minute
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: opts.HeaderTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         opts.TLS,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	srv.Protocols.SetUnencryptedHTTP2(opts.TLS == nil)
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		s.ready.Store(false)
		s.log.Info("shutting down: finishing the requests in flight", slog.Duration("timeout", opts.ShutdownTimeout))
		shutdown, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
		defer cancel()
		stopped <- srv.Shutdown(shutdown)
	}()
	s.log.Info("serving", slog.String("address", ln.Addr().String()), slog.Bool("tls", opts.TLS != nil),
		slog.Int("models", len(s.models)), slog.Int64("work_memory", s.budget.capacity), slog.Int64("key_cache", s.keys.capacity))
	var err error
	if opts.TLS != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return errs.New(errs.ErrIO, "serve: %w", err)
	}
	if err := <-stopped; err != nil {
		return errs.New(errs.ErrLimit, "shutdown: requests still in flight after %s: %w", opts.ShutdownTimeout, err)
	}
	s.log.Info("stopped")
	return nil
}

// TLSConfig loads a certificate and its key for HTTPS; with clientCAFile set, clients
// must present certificates signed by one of its authorities (mutual TLS).
func TLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "tls: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, errs.New(errs.ErrIO, "tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errs.New(errs.ErrMalformed, "tls: %s holds no PEM certificate", clientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
