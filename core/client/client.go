// Package client is the data owner's side: it holds the secret key, makes the
// evaluation keys, encrypts images and decrypts results.
//
// CKKS decryptions leak information about the secret key to whoever also sees the
// ciphertexts (Li–Micciancio 2021): never send decrypted logits back to the server
// or a third party; share only the argmax labels.
package client

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

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

// Encrypt encrypts one request: up to ImagesPerBatch images, each with Input.Size()
// values (channel-major), prepared as the manifest's model asks
// (model.InputSpec.Prepare: inside InputRange). The request is seeded: its
// ciphertexts' uniform halves come from a fresh random seed, so only the other halves
// and the seed travel.
func (c *Client) Encrypt(images [][]float64, progress packing.Progress) (*wire.Ciphertexts, error) {
	prepared, err := c.manifest.InputSpec().Prepare(images, nil)
	if err != nil {
		return nil, err
	}
	return c.encrypt(prepared, progress)
}

// encrypt encrypts one request of prepared images.
func (c *Client) encrypt(images [][]float64, progress packing.Progress) (*wire.Ciphertexts, error) {
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

// Requests returns the number of requests n records take: ⌈n / ImagesPerBatch⌉.
func (c *Client) Requests(n int) int {
	return (n + c.manifest.ImagesPerBatch - 1) / c.manifest.ImagesPerBatch
}

// EncryptAll encrypts any number of records, prepared as Encrypt does, split into
// requests of ImagesPerBatch records (the last one may hold fewer), in order. name
// names record i in errors (nil: "record i"). Every record is checked before any is
// encrypted. The requests are all in memory at the end: WriteUpload streams them.
func (c *Client) EncryptAll(records [][]float64, name func(int) string, progress packing.Progress) ([]*wire.Ciphertexts, error) {
	var out []*wire.Ciphertexts
	err := c.eachRequest(records, name, progress, func(cts *wire.Ciphertexts) error {
		out = append(out, cts)
		return nil
	})
	return out, err
}

// WriteUpload encrypts any number of records as EncryptAll does and writes them to w
// as one upload: the envelope of a single request, or a sequence of several
// (wire.SequenceWriter). Only one request is in memory at a time. It returns the
// number of bytes written.
func (c *Client) WriteUpload(w io.Writer, records [][]float64, name func(int) string, progress packing.Progress) (int64, error) {
	if len(records) == 0 {
		return 0, errs.New(errs.ErrInvalidArgument, "client: no records to encrypt")
	}
	sw, err := wire.NewSequenceWriter(w, wire.KindEncryptedBatch, &c.manifest, c.params, c.Requests(len(records)), len(records))
	if err != nil {
		return 0, err
	}
	if err := c.eachRequest(records, name, progress, sw.Write); err != nil {
		return sw.Bytes(), err
	}
	return sw.Bytes(), sw.Close()
}

// eachRequest prepares records, then encrypts them request by request and hands each
// request to emit.
func (c *Client) eachRequest(records [][]float64, name func(int) string, progress packing.Progress, emit func(*wire.Ciphertexts) error) error {
	if len(records) == 0 {
		return errs.New(errs.ErrInvalidArgument, "client: no records to encrypt")
	}
	prepared, err := c.manifest.InputSpec().Prepare(records, name)
	if err != nil {
		return err
	}
	per, n := c.manifest.ImagesPerBatch, c.Requests(len(prepared))
	for r := range n {
		what := fmt.Sprintf("encrypt request %d/%d", r+1, n)
		cts, err := c.encrypt(prepared[r*per:min((r+1)*per, len(prepared))], func(_ string, done, total int) {
			progress.Report(what, done, total)
		})
		if err != nil {
			return fmt.Errorf("request %d of %d: %w", r+1, n, err)
		}
		if err := emit(cts); err != nil {
			return err
		}
	}
	return nil
}

// Decrypt returns the logits of every image of an encrypted result.
func (c *Client) Decrypt(r *wire.Ciphertexts) ([][]float64, error) {
	if r == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "client: nil result")
	}
	return c.codec.Decrypt(r.Ciphertexts, r.Images)
}

// DecryptAll returns the logits of every image of the results of an upload's
// requests, in order.
func (c *Client) DecryptAll(results []*wire.Ciphertexts) ([][]float64, error) {
	var logits [][]float64
	for i, r := range results {
		l, err := c.Decrypt(r)
		if err != nil {
			return nil, fmt.Errorf("result %d of %d: %w", i+1, len(results), err)
		}
		logits = append(logits, l...)
	}
	return logits, nil
}

// ReadDownload reads the results of one upload from r (the envelope of a single
// result, or a sequence: wire.SequenceReader), decrypting each as it arrives, and
// returns the logits of every image in order. It reads nothing past the download, so
// downloads may follow each other on one stream; it returns io.EOF if r is at its end.
func (c *Client) ReadDownload(r io.Reader) ([][]float64, error) {
	sr, err := wire.NewSequenceReader(r, wire.KindEncryptedResult, &c.manifest, c.params)
	if err != nil {
		return nil, err
	}
	var logits [][]float64
	for i := 1; ; i++ {
		res, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return logits, nil
		}
		if err != nil {
			return nil, err
		}
		l, err := c.Decrypt(res)
		if err != nil {
			return nil, fmt.Errorf("result %d of %d: %w", i, sr.Requests(), err)
		}
		logits = append(logits, l...)
	}
}

// DecryptBytes opens a sealed encrypted result and decrypts it.
func (c *Client) DecryptBytes(data []byte) ([][]float64, error) {
	r, err := wire.DecodeCiphertexts(data, wire.KindEncryptedResult, &c.manifest, c.params)
	if err != nil {
		return nil, err
	}
	return c.Decrypt(r)
}
