// Package client is the data owner's side: it holds the secret key, makes the
// evaluation keys, encrypts images and decrypts results.
//
// CKKS decryptions leak information about the secret key to whoever also sees the
// ciphertexts (Li–Micciancio 2021): never send decrypted logits back to the server
// or a third party; share only the argmax labels.
package client

import (
	"crypto/rand"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Client encrypts for and decrypts from one compiled model. It is not safe for
// concurrent use.
type Client struct {
	manifest manifest.Manifest
	params   hefloat.Parameters
	sk       *rlwe.SecretKey
	codec    *packing.Codec
}

// Option changes how a client is made.
type Option func(*options)

type options struct{ allowInsecure bool }

// AllowInsecure lets a client accept a manifest whose parameters are below 128-bit
// security. Tests only: without it, a server cannot talk a client into weak keys.
func AllowInsecure() Option { return func(o *options) { o.allowInsecure = true } }

// New generates a fresh secret key for the manifest's parameters.
func New(m *manifest.Manifest, opts ...Option) (*Client, error) {
	return withKey(m, nil, opts)
}

// Restore rebuilds a client from a secret key exported by ExportSecretKey.
func Restore(m *manifest.Manifest, secretKey []byte, opts ...Option) (*Client, error) {
	return withKey(m, secretKey, opts)
}

func withKey(m *manifest.Manifest, secretKey []byte, opts []Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if m == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "client: nil manifest")
	}
	if m.Insecure && !o.allowInsecure {
		return nil, errs.New(errs.ErrInsecure, "client: insecure parameters: the manifest uses %s, which is below 128-bit security", m.Params)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	pk, err := compile.Lookup(m.Packing)
	if err != nil {
		return nil, err
	}
	layout, err := pk.Layout(m)
	if err != nil {
		return nil, err
	}
	prm, err := m.Parameters()
	if err != nil {
		return nil, err
	}
	var sk *rlwe.SecretKey
	if secretKey == nil {
		sk = rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	} else if sk, err = wire.DecodeSecretKey(secretKey, prm); err != nil {
		return nil, err
	}
	codec, err := packing.NewCodec(m, prm, layout, sk)
	if err != nil {
		return nil, err
	}
	return &Client{manifest: *m, params: prm, sk: sk, codec: codec}, nil
}

// Parameters returns the CKKS parameters of the client's manifest.
func (c *Client) Parameters() hefloat.Parameters { return c.params }

// Manifest returns the manifest the client works for.
func (c *Client) Manifest() manifest.Manifest { return c.manifest }

// ExportSecretKey seals the secret key, to store it with the client's other secrets.
// It must never be sent to the server.
func (c *Client) ExportSecretKey() ([]byte, error) { return wire.EncodeSecretKey(c.params, c.sk) }

// EvaluationKeys generates the public keys the server needs for this plan, exactly
// those its manifest lists (none for the CryptoNets batch plans; for single-image
// packing the relinearization key and the Galois keys, which takes a few seconds).
func (c *Client) EvaluationKeys() (*wire.EvaluationKeys, error) {
	keys := &wire.EvaluationKeys{Params: c.manifest.ParamsFingerprint}
	keys.Relinearization, keys.Galois = c.codec.EvaluationKeys()
	return keys, nil
}

// EvaluationKeysBytes returns the sealed evaluation keys, to send to the server.
func (c *Client) EvaluationKeysBytes() ([]byte, error) {
	k, err := c.EvaluationKeys()
	if err != nil {
		return nil, err
	}
	return wire.EncodeEvaluationKeys(k, &c.manifest, c.params)
}

// Encrypt encrypts up to ImagesPerBatch images (one request), each with Input.Size()
// values in InputRange (channel-major). The request is seeded: its ciphertexts'
// uniform halves come from a fresh random seed, so only the other halves and the seed
// travel.
func (c *Client) Encrypt(images [][]float64, progress packing.Progress) (*wire.Ciphertexts, error) {
	seed := make([]byte, wire.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, errs.New(errs.ErrInternal, "client: %w", err)
	}
	cts, err := c.codec.Encrypt(images, seed, progress)
	if err != nil {
		return nil, err
	}
	return &wire.Ciphertexts{Images: len(images), Ciphertexts: cts, Seed: seed}, nil
}

// EncryptBytes encrypts images as Encrypt does and seals the batch for the server.
func (c *Client) EncryptBytes(images [][]float64, progress packing.Progress) ([]byte, error) {
	cts, err := c.Encrypt(images, progress)
	if err != nil {
		return nil, err
	}
	return wire.EncodeCiphertexts(wire.KindEncryptedBatch, &c.manifest, c.params, cts)
}

// Decrypt returns the logits of every image of an encrypted result.
func (c *Client) Decrypt(r *wire.Ciphertexts) ([][]float64, error) {
	if r == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "client: nil result")
	}
	return c.codec.Decrypt(r.Ciphertexts, r.Images)
}

// DecryptBytes opens a sealed encrypted result and decrypts it.
func (c *Client) DecryptBytes(data []byte) ([][]float64, error) {
	r, err := wire.DecodeCiphertexts(data, wire.KindEncryptedResult, &c.manifest, c.params)
	if err != nil {
		return nil, err
	}
	return c.Decrypt(r)
}
