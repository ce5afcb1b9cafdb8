// Package remote is the Go client of cryptonets serve (package service): it fetches
// a model's public manifest, makes evaluation keys (or reuses saved ones) and uploads
// them once, splits any number of inputs into requests, keeps several in flight,
// retries a request the server was too busy for (503) or whose connection dropped,
// with backoff (a prediction is idempotent), and decrypts the results in input
// order. The secret key never leaves the client.
//
//	svc, err := remote.Connect("http://localhost:8080", remote.Options{Token: token})
//	logits, err := svc.Predict(ctx, "mnist", images, remote.Plan{})
package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/wire"
)

// Options configure a connection. The zero value works.
type Options struct {
	// Token is the bearer token, if the server takes tokens.
	Token string
	// HTTPClient sends the requests (default: one of the package's, HTTP/1.1 with
	// keep-alive, or HTTP/2 over TLS).
	HTTPClient *http.Client
	// TLS configures the default client's https:// connections (see TLSConfig).
	TLS *tls.Config
	// InFlight is the number of requests kept in flight (default 2).
	InFlight int
	// Attempts bounds the tries of one request (default 6); Backoff is the first
	// wait before a retry (default 250 ms), doubled each time (with jitter), or the
	// server's Retry-After if longer.
	Attempts int
	Backoff  time.Duration
	// KeysDir, if set, keeps each plan's secret key and evaluation keys in files
	// there (readable by the user only), so that later runs reuse them instead of
	// making and uploading new ones.
	KeysDir string
	// AllowInsecure accepts manifests with Insecure… parameters (tests only).
	AllowInsecure bool
	// Progress, if set, is told how many inputs are done, of how many.
	Progress func(done, total int)
}

// Service is a connection to a cryptonets server. It is safe for concurrent use.
type Service struct {
	base *url.URL
	opts Options
	http *http.Client

	mu       sync.Mutex
	sessions map[[32]byte]*Session
	// retries counts the retries of every request sent.
	retries int
}

// Connect prepares a connection to the server at rawURL (http:// or https://); it
// sends nothing yet.
func Connect(rawURL string, opts Options) (*Service, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errs.New(errs.ErrInvalidArgument, "remote: %q is not an http:// or https:// URL", rawURL)
	}
	if opts.InFlight <= 0 {
		opts.InFlight = 2
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 6
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 250 * time.Millisecond
	}
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = opts.InFlight + 2
		if opts.TLS != nil {
			tr.TLSClientConfig = opts.TLS
		}
		hc = &http.Client{Transport: tr}
	}
	return &Service{base: u, opts: opts, http: hc, sessions: map[[32]byte]*Session{}}, nil
}

// Retries returns how many times requests were sent again (after a 503 or a
// dropped connection) since Connect.
func (s *Service) Retries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retries
}

// Plan chooses a model's plan, as the query of the manifest request does. The zero
// value lets the server choose for Expect images (0: a full request or more).
type Plan struct {
	// Packing is "batch", "single", "auto" or "" (auto).
	Packing string
	// Expect is the number of images the client expects to send at a time.
	Expect int
	// Params names a parameter preset ("" for the default).
	Params string
}

func (p Plan) query() url.Values {
	q := url.Values{}
	if p.Packing != "" {
		q.Set(httpapi.QueryPacking, p.Packing)
	}
	if p.Expect > 0 {
		q.Set(httpapi.QueryExpect, strconv.Itoa(p.Expect))
	}
	if p.Params != "" {
		q.Set(httpapi.QueryParams, p.Params)
	}
	return q
}

// Models lists the served models.
func (s *Service) Models(ctx context.Context) ([]httpapi.Model, error) {
	var out httpapi.Models
	if err := s.getJSON(ctx, httpapi.PathModels, &out); err != nil {
		return nil, err
	}
	return out.Models, nil
}

// Model describes one served model.
func (s *Service) Model(ctx context.Context, name string) (httpapi.Model, error) {
	var out httpapi.Model
	err := s.getJSON(ctx, httpapi.ModelPath(httpapi.PathModel, url.PathEscape(name)), &out)
	return out, err
}

// Manifest fetches and validates the manifest of a model's plan.
func (s *Service) Manifest(ctx context.Context, model string, plan Plan) (*manifest.Manifest, error) {
	path := httpapi.ModelPath(httpapi.PathManifest, url.PathEscape(model))
	resp, err := s.do(ctx, http.MethodGet, path, plan.query(), nil, nil)
	if err != nil {
		return nil, err
	}
	data, err := readAll(resp, 64<<20)
	if err != nil {
		return nil, err
	}
	m, err := wire.DecodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("remote: the server's manifest: %w", err)
	}
	return m, nil
}

// Predict returns the logits of every image (Input.Size() values each, channel-major,
// in the model's input range) under the plan: images are split into requests of the
// plan's size, sent InFlight at a time, and their logits come back in input order.
// A plan with Expect 0 is chosen for len(images).
func (s *Service) Predict(ctx context.Context, model string, images [][]float64, plan Plan) ([][]float64, error) {
	if plan.Expect == 0 {
		plan.Expect = len(images)
	}
	sess, err := s.Session(ctx, model, plan)
	if err != nil {
		return nil, err
	}
	return sess.Predict(ctx, images, nil)
}

// Session is a client bound to one plan of a model, whose evaluation keys the server
// has. It is safe for concurrent use.
type Session struct {
	svc      *Service
	model    string
	manifest manifest.Manifest
	// query names the plan in predictions that name no keys.
	query url.Values
	keyID string // "" for a plan that needs no keys

	mu     sync.Mutex // the client is not safe for concurrent use
	client *client.Client
}

// Session returns the session of a model's plan: it fetches the manifest, makes (or,
// with KeysDir, reuses) a secret key and evaluation keys for it and uploads the keys
// unless the server has them or the plan needs none. Sessions are kept: the same plan
// gets the same session.
func (s *Service) Session(ctx context.Context, model string, plan Plan) (*Session, error) {
	m, err := s.Manifest(ctx, model, plan)
	if err != nil {
		return nil, err
	}
	fp := m.Fingerprint()
	s.mu.Lock()
	if sess := s.sessions[fp]; sess != nil && sess.model == model {
		s.mu.Unlock()
		return sess, nil
	}
	s.mu.Unlock()
	var opts []client.Option
	if s.opts.AllowInsecure {
		opts = append(opts, client.AllowInsecure())
	}
	c, evk, err := s.keysFor(m, opts)
	if err != nil {
		return nil, err
	}
	sess := &Session{svc: s, model: model, manifest: *m, query: plan.query(), client: c}
	if m.Relinearize || len(m.GaloisElements) > 0 {
		if sess.keyID, err = s.ensureKeys(ctx, evk); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[fp] = sess
	return sess, nil
}

// Manifest returns the session's manifest.
func (ss *Session) Manifest() manifest.Manifest { return ss.manifest }

// keysFor returns a client for manifest m and its sealed evaluation keys: made now,
// or read from KeysDir (where new ones are saved).
func (s *Service) keysFor(m *manifest.Manifest, opts []client.Option) (*client.Client, []byte, error) {
	fp := m.Fingerprint()
	var skPath, evkPath string
	if dir := s.opts.KeysDir; dir != "" {
		name := hex.EncodeToString(fp[:])
		skPath, evkPath = filepath.Join(dir, name+".secret-key"), filepath.Join(dir, name+".eval-keys")
		sk, errSK := os.ReadFile(skPath)
		evk, errEVK := os.ReadFile(evkPath)
		if errSK == nil && errEVK == nil {
			c, err := client.Restore(m, sk, opts...)
			if err != nil {
				return nil, nil, fmt.Errorf("remote: %s: %w", skPath, err)
			}
			return c, evk, nil
		}
	}
	c, err := client.New(m, opts...)
	if err != nil {
		return nil, nil, err
	}
	evk, err := c.EvaluationKeysBytes()
	if err != nil {
		return nil, nil, err
	}
	if skPath != "" {
		sk, err := c.ExportSecretKey()
		if err != nil {
			return nil, nil, err
		}
		if err := os.MkdirAll(s.opts.KeysDir, 0o700); err != nil {
			return nil, nil, errs.New(errs.ErrIO, "remote: %w", err)
		}
		for path, data := range map[string][]byte{skPath: sk, evkPath: evk} {
			if err := writeAtomic(path, data); err != nil {
				return nil, nil, err
			}
		}
	}
	return c, evk, nil
}

// writeAtomic writes a file readable by the user only, renamed into place.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err == nil {
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}
	if err != nil {
		return errs.New(errs.ErrIO, "remote: %w", err)
	}
	return nil
}

// ensureKeys uploads sealed evaluation keys unless the server has them already, and
// returns their id.
func (s *Service) ensureKeys(ctx context.Context, evk []byte) (string, error) {
	sum := sha256.Sum256(evk)
	id := hex.EncodeToString(sum[:])
	resp, err := s.do(ctx, http.MethodHead, httpapi.PathKeys+"/"+id, nil, nil, nil)
	if err == nil {
		resp.Body.Close()
		return id, nil
	}
	if httpapi.StatusOf(err) != http.StatusNotFound {
		return "", err
	}
	resp, err = s.do(ctx, http.MethodPut, httpapi.PathKeys, nil, evk, nil)
	if err != nil {
		return "", err
	}
	var key httpapi.Key
	if err := decodeJSON(resp, &key); err != nil {
		return "", err
	}
	if key.ID != id {
		return "", errs.New(errs.ErrMismatch, "remote: the server stored the keys as %s, their digest is %s", key.ID, id)
	}
	return id, nil
}

// Predict returns the logits of every record, in order (see Service.Predict). Every
// record is prepared and checked as the manifest's model asks
// (model.InputSpec.Prepare; name names record i in errors, nil for "record i")
// before any request is sent.
func (ss *Session) Predict(ctx context.Context, records [][]float64, name func(i int) string) ([][]float64, error) {
	images, err := ss.manifest.InputSpec().Prepare(records, name)
	if err != nil {
		return nil, err
	}
	per := ss.manifest.ImagesPerBatch
	ss.mu.Lock()
	n := ss.client.Requests(len(images))
	ss.mu.Unlock()
	out := make([][]float64, len(images))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
	)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range min(ss.svc.opts.InFlight, n) {
		wg.Go(func() {
			for i := range next {
				lo, hi := i*per, min((i+1)*per, len(images))
				logits, err := ss.predictOne(ctx, images[lo:hi])
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("remote: request %d of %d (inputs %d to %d): %w", i+1, n, lo, hi-1, err)
					cancel()
				}
				if err == nil {
					copy(out[lo:hi], logits)
					done += hi - lo
					if p := ss.svc.opts.Progress; p != nil {
						p(done, len(images))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

// predictOne encrypts one request, sends it (with retries) and decrypts the result.
func (ss *Session) predictOne(ctx context.Context, images [][]float64) ([][]float64, error) {
	ss.mu.Lock()
	upload, request, err := ss.client.EncryptBytes(images, nil)
	ss.mu.Unlock()
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	query := ss.query
	if ss.keyID != "" {
		header.Set(httpapi.HeaderKeyID, ss.keyID)
		query = nil
	}
	resp, err := ss.svc.do(ctx, http.MethodPost, httpapi.ModelPath(httpapi.PathPredict, url.PathEscape(ss.model)), query, upload, header)
	if err != nil {
		return nil, err
	}
	limit, err := wire.MaxEncryptedResultSize(&ss.manifest)
	if err != nil {
		return nil, err
	}
	result, err := readAll(resp, limit)
	if err != nil {
		return nil, err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	logits, err := ss.client.DecryptBytes(request, result)
	if err != nil {
		return nil, err
	}
	if len(logits) != len(images) {
		return nil, errs.New(errs.ErrMismatch, "remote: a result of %d images for a request of %d", len(logits), len(images))
	}
	return logits, nil
}

// do sends a request and returns a 2xx response; an error response becomes the error
// it describes (httpapi.ErrorDetail.Err). A dropped connection, a 502, 503 or 504 is
// retried with backoff, up to Attempts tries.
func (s *Service) do(ctx context.Context, method, path string, query url.Values, body []byte, header http.Header) (*http.Response, error) {
	u := s.base.JoinPath(path)
	u.RawQuery = query.Encode()
	wait := s.opts.Backoff
	for attempt := 1; ; attempt++ {
		resp, err := s.send(ctx, method, u.String(), body, header)
		if err == nil && resp.StatusCode < 300 {
			return resp, nil
		}
		retry := err != nil && retryableNetError(err)
		var after time.Duration
		if err == nil {
			err = responseError(resp)
			retry = httpapi.Retryable(resp.StatusCode)
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil {
				after = time.Duration(secs) * time.Second
			}
		}
		if !retry || attempt >= s.opts.Attempts || ctx.Err() != nil {
			if retry {
				return nil, fmt.Errorf("remote: %s %s: gave up after %d attempts: %w", method, path, attempt, err)
			}
			return nil, err
		}
		delay := max(after, wait/2+time.Duration(rand.Int64N(int64(wait))))
		wait *= 2
		s.mu.Lock()
		s.retries++
		s.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, errs.New(errs.ErrLimit, "remote: %s %s: %w", method, path, ctx.Err())
		}
	}
}

// send sends one request.
func (s *Service) send(ctx context.Context, method, u string, body []byte, header http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, errs.New(errs.ErrInvalidArgument, "remote: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", httpapi.ContentType)
	}
	if s.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.opts.Token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "remote: %s %s: %w", method, req.URL.Path, err)
	}
	return resp, nil
}

// retryableNetError reports whether a request failed because the connection could
// not be made or dropped (not because the context ended).
func retryableNetError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var oe *net.OpError // dial, read and write errors of the connection
	return errors.As(err, &oe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// responseError reads an error response into the error it describes.
func responseError(resp *http.Response) error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body httpapi.ErrorBody
	if err := json.Unmarshal(data, &body); err != nil || body.Error.Status == 0 {
		msg := http.StatusText(resp.StatusCode)
		if resp.Request != nil && resp.Request.Method != http.MethodHead && len(data) > 0 {
			msg = string(bytes.TrimSpace(data))
		}
		body.Error = httpapi.ErrorDetail{Code: errs.Code(errs.ErrIO), Status: resp.StatusCode, Message: msg}
		if resp.StatusCode == http.StatusNotFound {
			body.Error.Code = errs.Code(errs.ErrInvalidArgument)
		}
	}
	return body.Error.Err()
}

// readAll reads a response body of at most limit bytes.
func readAll(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return nil, errs.New(errs.ErrLimit, "remote: a response of %d bytes, at most %d expected", resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, errs.New(errs.ErrIO, "remote: reading the response: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, errs.New(errs.ErrLimit, "remote: a response of more than %d bytes", limit)
	}
	return data, nil
}

// getJSON GETs a JSON resource.
func (s *Service) getJSON(ctx context.Context, path string, v any) error {
	resp, err := s.do(ctx, http.MethodGet, path, nil, nil, nil)
	if err != nil {
		return err
	}
	return decodeJSON(resp, v)
}

func decodeJSON(resp *http.Response, v any) error {
	data, err := readAll(resp, 16<<20)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errs.New(errs.ErrMalformed, "remote: the server's answer is not the JSON expected: %w", err)
	}
	return nil
}

// TLSConfig returns the TLS configuration of a client: trusting the CA certificates
// of caFile (PEM; "" for the system's), and presenting the certificate of certFile
// with its key keyFile if set (mutual TLS).
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, errs.New(errs.ErrIO, "remote: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errs.New(errs.ErrMalformed, "remote: %s holds no PEM certificate", caFile)
		}
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, errs.New(errs.ErrIO, "remote: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
