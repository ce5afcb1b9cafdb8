// Package service is cryptonets serve: an HTTP service that evaluates converted
// models on encrypted inputs for clients who hold the secret keys (package remote is
// its Go client). It hosts models under names, hands out their public manifests,
// keeps clients' evaluation keys in a key store (package keystore) with a cache of
// decoded keys bounded in bytes, and evaluates sealed requests within a memory
// budget: every body's exact length is known from a manifest before it is read, and
// work that does not fit waits in a bounded queue or is refused with 503. It never
// holds a secret key, and its logs never print a key or a ciphertext.
//
// The API (package httpapi; docs/service.md):
//
//	GET    /v1/models                       the models (JSON)
//	GET    /v1/models/{name}                one model: input, packings (JSON)
//	GET    /v1/models/{name}/manifest       a plan's sealed manifest (?packing=&expect=&params=)
//	PUT    /v1/keys                         sealed evaluation keys in, their id out (JSON)
//	GET    /v1/keys/{id}                    what the keys are for (JSON); DELETE removes them
//	POST   /v1/models/{name}/predict        a sealed request in, a sealed result out
//	GET    /healthz, /readyz, /metrics
package service

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/model"
)

// Model is a model to serve and its name in paths.
type Model struct {
	Name  string
	Model *model.Model
}

// Config configures a service. Zero durations and sizes take the defaults noted.
type Config struct {
	// Models are the models to serve (at least one; names unique).
	Models []Model
	// Store keeps evaluation keys (required).
	Store keystore.Store
	// WorkMemory bounds the memory of work in flight (evaluations, key uploads and
	// loads) and of the plans held, in bytes (required).
	WorkMemory int64
	// KeyCache bounds the memory of decoded keys held between requests (default
	// 1 GiB).
	KeyCache int64
	// Queue is the most requests that wait for memory (0: none waits), QueueTimeout
	// the longest one waits (default 30 s).
	Queue        int
	QueueTimeout time.Duration
	// MaxPlans is the most compiled plans held (default 16).
	MaxPlans int
	// MaxKeyBytes bounds one upload of evaluation keys (default 2 GiB).
	MaxKeyBytes int64
	// BodyTimeout and MinUploadRate bound the time to read a body of n bytes:
	// BodyTimeout + n/MinUploadRate (defaults 30 s and 1 MiB/s); results are written
	// within the same time for their size.
	BodyTimeout   time.Duration
	MinUploadRate int64
	// Tokens, if set, are the bearer tokens the service accepts; without, every
	// client is the anonymous owner "".
	Tokens *Tokens
	// Quota applies to the anonymous owner (without Tokens).
	Quota Quota
	// Insecure accepts plans with Insecure… parameters (tests only: NOT secure).
	Insecure bool
	// Logger receives the service's structured logs (default: discarded).
	Logger *slog.Logger
}

// Service is the HTTP service. Make one with New, serve it with Serve or mount
// Handler, and Close it.
type Service struct {
	cfg      Config
	models   []*servedModel
	byName   map[string]*servedModel
	budget   *budget
	plans    *plans
	keys     *keyCache
	inFlight *inFlight
	metrics  *metrics
	log      *slog.Logger
	ready    atomic.Bool
	handler  http.Handler
}

func (c *Config) setDefaults() {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.KeyCache, 1<<30)
	def(&c.MaxKeyBytes, 2<<30)
	def(&c.MinUploadRate, 1<<20)
	if c.QueueTimeout == 0 {
		c.QueueTimeout = 30 * time.Second
	}
	if c.MaxPlans == 0 {
		c.MaxPlans = 16
	}
	if c.BodyTimeout == 0 {
		c.BodyTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// New checks the configuration and compiles each model's default plans (batch and
// single-image packing, where the model allows), which it keeps.
func New(cfg Config) (*Service, error) {
	cfg.setDefaults()
	switch {
	case len(cfg.Models) == 0:
		return nil, errs.New(errs.ErrInvalidArgument, "service: no model to serve")
	case cfg.Store == nil:
		return nil, errs.New(errs.ErrInvalidArgument, "service: no key store")
	case cfg.WorkMemory <= 0 || cfg.KeyCache < 0 || cfg.Queue < 0 || cfg.MaxPlans < 1 || cfg.MaxKeyBytes < 1 || cfg.MinUploadRate < 1:
		return nil, errs.New(errs.ErrInvalidArgument, "service: memory, cache, queue, plan and upload limits must be positive")
	}
	s := &Service{cfg: cfg, byName: map[string]*servedModel{}, log: cfg.Logger, inFlight: &inFlight{n: map[string]int{}}}
	s.budget = newBudget(cfg.WorkMemory, cfg.Queue, cfg.QueueTimeout)
	s.plans = newPlans(s.budget, cfg.MaxPlans, cfg.Insecure)
	s.keys = newKeyCache(cfg.KeyCache)
	for _, m := range cfg.Models {
		if m.Model == nil || m.Name == "" || keystore.CheckOwner(m.Name) != nil {
			return nil, errs.New(errs.ErrInvalidArgument, "service: model name %q: want 1 to 64 letters, digits, '.', '_' or '-'", m.Name)
		}
		if s.byName[m.Name] != nil {
			return nil, errs.New(errs.ErrInvalidArgument, "service: two models named %q", m.Name)
		}
		sm := &servedModel{name: m.Name, model: m.Model}
		s.models = append(s.models, sm)
		s.byName[m.Name] = sm
	}
	for _, m := range s.models {
		if _, err := s.modelInfo(context.Background(), m); err != nil {
			return nil, err
		}
	}
	s.metrics = newMetrics(s)
	s.handler = s.routes()
	s.ready.Store(true)
	return s, nil
}

// Handler returns the service's HTTP handler.
func (s *Service) Handler() http.Handler { return s.handler }

// routes builds the handler: the API behind authorization, logs and metrics.
func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h func(http.ResponseWriter, *http.Request, Token) error) {
		mux.Handle(pattern, s.observe(pattern, func(w http.ResponseWriter, r *http.Request) error {
			tok, err := s.authorize(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="cryptonets"`)
				return err
			}
			return h(w, r, tok)
		}))
	}
	api("GET "+httpapi.PathModels, s.handleModels)
	api("GET "+httpapi.PathModel, s.handleModel)
	api("GET "+httpapi.PathManifest, s.handleManifest)
	api("PUT "+httpapi.PathKeys, s.handlePutKeys)
	api("GET "+httpapi.PathKey, s.handleGetKey)
	api("DELETE "+httpapi.PathKey, s.handleDeleteKey)
	api("POST "+httpapi.PathPredict, s.handlePredict)
	mux.Handle("GET "+httpapi.PathHealth, s.observe("GET "+httpapi.PathHealth, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, httpapi.Health{Status: "ok"})
		return nil
	}))
	mux.Handle("GET "+httpapi.PathReady, s.observe("GET "+httpapi.PathReady, func(w http.ResponseWriter, r *http.Request) error {
		if !s.ready.Load() {
			writeJSON(w, http.StatusServiceUnavailable, httpapi.Health{Status: "shutting down"})
			return nil
		}
		writeJSON(w, http.StatusOK, httpapi.Health{Status: "ready"})
		return nil
	}))
	mux.Handle("GET "+httpapi.PathMetrics, promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	mux.Handle("/", s.observe("other", func(w http.ResponseWriter, r *http.Request) error {
		return withStatus(http.StatusNotFound, errs.New(errs.ErrInvalidArgument, "no such resource: %s %s (see docs/service.md)", r.Method, r.URL.Path))
	}))
	return mux
}

// Close stops accepting work in readiness checks and closes the key store.
func (s *Service) Close() error {
	s.ready.Store(false)
	return s.cfg.Store.Close()
}
