package main

import (
	"sync"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// The Go values behind the opaque C types.

// manifestInfo is an immutable manifest with what is derived from it, shared by every
// object made for it.
type manifestInfo struct {
	man manifest.Manifest
	fp  [32]byte
	prm hefloat.Parameters
	// maxKeyBytes is the caller's limit on the evaluation keys a client made for the
	// manifest makes (cn_manifest_options.max_eval_key_bytes; 0: the default).
	maxKeyBytes int64
}

func newManifestInfo(m manifest.Manifest) (*manifestInfo, error) {
	prm, err := m.Parameters()
	if err != nil {
		return nil, err
	}
	return &manifestInfo{man: m, fp: m.Fingerprint(), prm: prm}, nil
}

// modelObj keeps the plans its model compiled to for the last manifests it served, so
// that servers made from it for a manifest it has seen compile nothing.
type modelObj struct {
	m     *model.Model
	plans *compile.Cache
}

// modelPlans is the number of plans a model object keeps.
const modelPlans = 2

func newModelObj(m *model.Model) *modelObj {
	return &modelObj{m: m, plans: compile.NewCache(m, modelPlans)}
}

type manifestObj struct{ info *manifestInfo }

// clientObj serializes the calls on one client: core/client is not safe for
// concurrent use.
type clientObj struct {
	mu   sync.Mutex
	c    *client.Client
	info *manifestInfo
}

type evalKeysObj struct {
	k    *wire.EvaluationKeys
	info *manifestInfo
}

type serverObj struct {
	s    *server.Server
	info *manifestInfo
}

// batchObj holds the requests of one upload; it is never modified (a prediction
// evaluates copies).
type batchObj struct {
	requests []*wire.Ciphertexts
	info     *manifestInfo
}

// resultObj holds the results of one upload's requests, in order.
type resultObj struct {
	results []*wire.Ciphertexts
	info    *manifestInfo
}

// images returns the number of images of a list of requests or results.
func images(list []*wire.Ciphertexts) int {
	n := 0
	for _, c := range list {
		n += c.Images
	}
	return n
}

func (*modelObj) tag() uint32    { return tagModel }
func (*manifestObj) tag() uint32 { return tagManifest }
func (*clientObj) tag() uint32   { return tagClient }
func (*evalKeysObj) tag() uint32 { return tagEvalKeys }
func (*serverObj) tag() uint32   { return tagServer }
func (*batchObj) tag() uint32    { return tagBatch }
func (*resultObj) tag() uint32   { return tagResult }
