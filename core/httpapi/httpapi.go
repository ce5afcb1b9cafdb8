// Package httpapi is the HTTP API of cryptonets serve, shared by the server (package
// service) and its clients (package remote): the paths, the headers, and the JSON
// bodies of metadata and errors. Binary bodies are the library's wire envelopes
// (package wire): sealed evaluation keys, encrypted batches and results, manifests.
// docs/service.md describes the API; docs/openapi.yaml is its OpenAPI form.
package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
)

// The paths. {name} is a model's name, {id} a key id.
const (
	PathModels   = "/v1/models"
	PathModel    = "/v1/models/{name}"
	PathManifest = "/v1/models/{name}/manifest"
	PathPredict  = "/v1/models/{name}/predict"
	PathKeys     = "/v1/keys"
	PathKey      = "/v1/keys/{id}"
	PathHealth   = "/healthz"
	PathReady    = "/readyz"
	PathMetrics  = "/metrics"
)

// ModelPath returns the path of a model's resource (PathModel, PathManifest,
// PathPredict) for the model named name.
func ModelPath(pattern, name string) string { return strings.Replace(pattern, "{name}", name, 1) }

// The query parameters of PathManifest and PathPredict that choose a plan.
const (
	// QueryPacking names the packing: "batch", "single" or "auto" (the default).
	QueryPacking = "packing"
	// QueryExpect is the number of images the client expects to send at a time
	// (auto chooses the packing for it, a packing the images per request).
	QueryExpect = "expect"
	// QueryParams names a parameter preset (optional).
	QueryParams = "params"
)

// The headers.
const (
	// HeaderKeyID names the evaluation keys a prediction uses (the id PUT
	// /v1/keys returned); a plan that needs no keys goes without it and names its
	// plan by the query of PathManifest instead.
	HeaderKeyID = "Cryptonets-Key-Id"
	// HeaderPlan is the fingerprint (hex) of the plan a manifest, a prediction or a
	// result is for.
	HeaderPlan = "Cryptonets-Plan"
	// HeaderImages is the number of images a prediction's result holds, and
	// HeaderRequests the number of requests (1: a single result envelope; more: a
	// sequence of results).
	HeaderImages   = "Cryptonets-Images"
	HeaderRequests = "Cryptonets-Requests"
	// HeaderNeedsKeys says, on a manifest, whether its plan needs evaluation keys
	// ("true" or "false").
	HeaderNeedsKeys = "Cryptonets-Needs-Keys"
)

// ContentType is the media type of binary bodies: one wire envelope.
const ContentType = "application/vnd.cryptonets"

// Models is the body of GET /v1/models.
type Models struct {
	Models []Model `json:"models"`
}

// Model is the body of GET /v1/models/{name}: what a client needs to choose a plan.
type Model struct {
	// Name is the model's name in paths.
	Name string `json:"name"`
	// Model is the name recorded in the model file.
	Model string `json:"model"`
	// Input is the shape of one input: channels, height, width.
	Input Shape `json:"input"`
	// InputRange bounds every input value, [min, max]: the preprocessing the model
	// expects (MNIST: pixel/255).
	InputRange [2]float64 `json:"input_range"`
	// Outputs is the number of logits per input.
	Outputs int `json:"outputs"`
	// Source and Rewrites are the model's provenance.
	Source   string   `json:"source,omitempty"`
	Rewrites []string `json:"rewrites,omitempty"`
	// Packings describes the default plan of each packing.
	Packings []Packing `json:"packings"`
}

// Shape is an input shape.
type Shape struct {
	Channels int `json:"channels"`
	Height   int `json:"height"`
	Width    int `json:"width"`
}

// Packing describes one plan of a model.
type Packing struct {
	Packing string `json:"packing"`
	Params  string `json:"params"`
	// Insecure marks a parameter set below 128-bit security (tests only).
	Insecure bool `json:"insecure,omitempty"`
	// Plan is the plan's fingerprint (hex).
	Plan string `json:"plan"`
	// ImagesPerRequest is the most images one request holds.
	ImagesPerRequest int `json:"images_per_request"`
	// RequestBytes is the exact length of one request's body; KeyBytes that of its
	// evaluation keys (NeedsKeys false: none to upload).
	RequestBytes int64 `json:"request_bytes"`
	KeyBytes     int64 `json:"key_bytes"`
	NeedsKeys    bool  `json:"needs_keys"`
	// EvaluationSeconds is the cost model's time of one request on the reference
	// machine; EvaluationBytes the memory the server budgets for it.
	EvaluationSeconds float64 `json:"evaluation_seconds"`
	EvaluationBytes   int64   `json:"evaluation_bytes"`
}

// Key is the body of PUT /v1/keys and GET /v1/keys/{id}.
type Key struct {
	// ID is the keys' id: the SHA-256 digest (hex) of the sealed keys.
	ID string `json:"id"`
	// Bytes is the length of the sealed keys.
	Bytes int64 `json:"bytes"`
	// Model is the served model the keys' plan belongs to, Packing and Params
	// describe the plan and Plan is its fingerprint (hex).
	Model   string `json:"model,omitempty"`
	Packing string `json:"packing,omitempty"`
	Params  string `json:"params,omitempty"`
	Plan    string `json:"plan,omitempty"`
	// Created is false when the keys were already stored.
	Created bool `json:"created"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
}

// ErrorBody is the body of every error response: the error's class and code (those
// of package errs, as the CLI reports them with --json), the HTTP status and a
// one-line message.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes an error.
type ErrorDetail struct {
	Class   string `json:"class"`
	Code    int    `json:"code"`
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// Err returns the error an error body describes, of its class, so that errors.Is
// tells a client what kind of failure the server reported.
func (e ErrorDetail) Err() error {
	for _, c := range errs.Classes() {
		if errs.Code(c) == e.Code {
			return &StatusError{Status: e.Status, err: errs.New(c, "server: %s", e.Message)}
		}
	}
	return &StatusError{Status: e.Status, err: errs.New(errs.ErrInternal, "server: %s (HTTP %d)", e.Message, e.Status)}
}

// StatusError is an error the server answered with an HTTP status.
type StatusError struct {
	Status int
	err    error
}

func (e *StatusError) Error() string { return e.err.Error() }
func (e *StatusError) Unwrap() error { return e.err }

// StatusOf returns the HTTP status of an error a server reported (0 if err is not
// one).
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// Retryable reports whether a request that failed with HTTP status code may succeed
// if sent again unchanged, later: the server was busy or unavailable (503), the
// token had its quota of requests in flight (429), or a gateway in front of the
// server failed (502, 504).
func Retryable(status int) bool {
	switch status {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}
