package main

import (
	"sync"

	"github.com/cryptonets/cryptonets/core/client"
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

type modelObj struct{ m *model.Model }

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

// batchObj's ciphertexts are taken (set to nil) by the prediction that consumes them;
// its request stays.
type batchObj struct {
	mu      sync.Mutex
	cts     *wire.Ciphertexts
	request wire.Request
	info    *manifestInfo
}

type resultObj struct {
	cts  *wire.Ciphertexts
	info *manifestInfo
}

func (*modelObj) tag() uint32    { return tagModel }
func (*manifestObj) tag() uint32 { return tagManifest }
func (*clientObj) tag() uint32   { return tagClient }
func (*evalKeysObj) tag() uint32 { return tagEvalKeys }
func (*serverObj) tag() uint32   { return tagServer }
func (*batchObj) tag() uint32    { return tagBatch }
func (*resultObj) tag() uint32   { return tagResult }

// ciphertexts returns the batch's ciphertexts (taking them if consume is set), or an
// error if a prediction consumed them.
func (b *batchObj) ciphertexts(consume bool) (*wire.Ciphertexts, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cts == nil {
		return nil, invalidf("the encrypted batch was consumed by cn_server_predict; only cn_encrypted_batch_free may use it now")
	}
	cts := b.cts
	if consume {
		b.cts = nil
	}
	return cts, nil
}
