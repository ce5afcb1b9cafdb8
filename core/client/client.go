// Package client is the data owner's side: it holds the secret key, makes the
// evaluation keys, encrypts images and decrypts results.
//
// CKKS decryptions leak information about the secret key to whoever also sees the
// ciphertexts (Li–Micciancio 2021): never send decrypted logits back to the server
// or a third party; share only the argmax labels.
package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/wire"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// Client encrypts for and decrypts from one compiled model. It is not safe for
// concurrent use.
type Client struct {
	manifest        manifest.Manifest
	planFingerprint [32]byte
	params          hefloat.Parameters
	sk              *rlwe.SecretKey
	codec           *packing.Codec
	// tagKey tags the client's requests (wire.Request).
	tagKey []byte
}

// Option changes how a client is made.
type Option func(*options)

type options struct {
	allowInsecure bool
	maxKeyBytes   int64
}

// AllowInsecure lets a client accept a manifest whose parameters are below 128-bit
// security. Tests only: without it, a server cannot talk a client into weak keys.
func AllowInsecure() Option { return func(o *options) { o.allowInsecure = true } }

// DefaultMaxEvaluationKeyBytes is the largest evaluation keys (sealed size) a client
// accepts to make unless told otherwise: the manifest, which comes from the server,
// says which keys to make, and a manifest may list up to 512 Galois keys (about 13 GB
// at log N = 14). The shipped single-packing plans need 37 to 650 MiB.
const DefaultMaxEvaluationKeyBytes = 1 << 30

// MaxEvaluationKeyBytes sets the largest evaluation keys, in sealed bytes, a client
// accepts to make for its manifest (DefaultMaxEvaluationKeyBytes if n ≤ 0). Making
// them takes about three times as much memory.
func MaxEvaluationKeyBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxKeyBytes = n
		}
	}
}

// New generates a fresh secret key for the manifest's parameters.
func New(m *manifest.Manifest, opts ...Option) (*Client, error) {
	return withKey(m, nil, opts)
}

// Restore rebuilds a client from a secret key exported by ExportSecretKey.
func Restore(m *manifest.Manifest, secretKey []byte, opts ...Option) (*Client, error) {
	return withKey(m, secretKey, opts)
}

func withKey(m *manifest.Manifest, secretKey []byte, opts []Option) (*Client, error) {
	o := options{maxKeyBytes: DefaultMaxEvaluationKeyBytes}
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
	keyBytes, err := wire.EvaluationKeysSize(m, prm)
	if err != nil {
		return nil, err
	}
	if keyBytes > o.maxKeyBytes {
		return nil, errs.New(errs.ErrLimit, "client: the manifest asks for %d evaluation keys taking %d MiB, above this client's limit of %d MiB (raise the limit, max_eval_key_bytes or --max-eval-key-bytes, only if you trust the manifest)",
			len(m.GaloisElements)+boolInt(m.Relinearize), keyBytes>>20, o.maxKeyBytes>>20)
	}
	var sk *rlwe.SecretKey
	if secretKey == nil {
		sk = rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	} else if sk, err = wire.DecodeSecretKey(secretKey, prm); err != nil {
		return nil, err
	}
	secret, err := wire.EncodeSecretKey(prm, sk)
	if err != nil {
		return nil, err
	}
	c := &Client{manifest: *m, params: prm, sk: sk, planFingerprint: m.Fingerprint()}
	// Two keys from the secret key: one derives where each request's images sit, the
	// other tags requests. Neither tells anything about the secret key.
	c.tagKey = derive(secret[wire.HeaderSize:], "request tag")
	if c.codec, err = packing.NewCodec(m, prm, layout, sk, derive(secret[wire.HeaderSize:], "arrangement")); err != nil {
		return nil, err
	}
	return c, nil
}

// derive returns a key for purpose from the encoded secret key.
func derive(secret []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("cryptonets-client-v1/" + purpose))
	return mac.Sum(nil)
}

// tag is the tag of a request of the client with the given identifier and image
// count (see wire.Request).
func (c *Client) tag(id [16]byte, images int) [16]byte {
	mac := hmac.New(sha256.New, c.tagKey)
	mac.Write(c.planFingerprint[:])
	mac.Write(id[:])
	mac.Write(binary.LittleEndian.AppendUint64(nil, uint64(images)))
	var t [16]byte
	copy(t[:], mac.Sum(nil))
	return t
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
// (model.InputSpec.Prepare: inside InputRange). The request gets a fresh identifier
// and the client's tag (Ciphertexts.Request: keep it to decrypt the result); its
// images sit at secret positions derived from the identifier, check inputs at the
// others. The request is seeded: its ciphertexts' uniform halves come from a fresh
// random seed, so only the other halves and the seed travel.
func (c *Client) Encrypt(images [][]float64, progress packing.Progress) (*wire.Ciphertexts, error) {
	prepared, err := c.manifest.InputSpec().Prepare(images, nil)
	if err != nil {
		return nil, err
	}
	return c.encrypt(prepared, progress)
}

// encrypt encrypts one request of prepared images.
func (c *Client) encrypt(images [][]float64, progress packing.Progress) (*wire.Ciphertexts, error) {
	req, seed, err := c.newRequest(len(images))
	if err != nil {
		return nil, err
	}
	cts, err := c.codec.Encrypt(images, req.ID[:], seed, progress)
	if err != nil {
		return nil, err
	}
	return &wire.Ciphertexts{Images: len(images), Request: req, Ciphertexts: cts, Seed: seed}, nil
}

// newRequest returns a fresh request of n images (its identifier and tag) and seed.
func (c *Client) newRequest(n int) (wire.Request, []byte, error) {
	var req wire.Request
	seed := make([]byte, wire.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return req, nil, errs.New(errs.ErrInternal, "client: %w", err)
	}
	if _, err := rand.Read(req.ID[:]); err != nil {
		return req, nil, errs.New(errs.ErrInternal, "client: %w", err)
	}
	req.Tag = c.tag(req.ID, n)
	return req, seed, nil
}

// sealFunc writes a seeded batch whose c0 components c0 makes on procs goroutines
// (wire.WriteSeededBatch, wire.SequenceWriter.WriteSeeded).
type sealFunc func(b *wire.SeededBatch, procs int, c0 func(worker, k int) (ring.Poly, error)) error

// seal encrypts one request of prepared images as encrypt does and writes it with
// write as its ciphertexts are made: each goroutine encrypts into a ciphertext of its
// own, packed before it encrypts the next, so the request's ciphertexts are never
// all in memory.
func (c *Client) seal(images [][]float64, progress packing.Progress, write sealFunc) (wire.Request, error) {
	req, seed, err := c.newRequest(len(images))
	if err != nil {
		return req, err
	}
	enc, err := c.codec.Begin(images, req.ID[:], seed, progress)
	if err != nil {
		return req, err
	}
	level := c.manifest.InputLevel
	own := make([]*rlwe.Ciphertext, enc.Workers())
	for w := range own {
		own[w] = rlwe.NewCiphertext(c.params, 1, level)
	}
	b := &wire.SeededBatch{Images: len(images), Request: req, Seed: seed, Count: enc.Count(), Level: level,
		Scale: rlwe.NewScale(math.Ldexp(1, c.manifest.InputLogScale))}
	return req, write(b, len(own), func(w, k int) (ring.Poly, error) {
		if err := enc.EncryptTo(w, k, own[w]); err != nil {
			return ring.Poly{}, err
		}
		return own[w].Value[0], nil
	})
}

// EncryptBytes encrypts images as Encrypt does and seals the batch for the server; it
// also returns the batch's request, to decrypt the result with.
func (c *Client) EncryptBytes(images [][]float64, progress packing.Progress) ([]byte, wire.Request, error) {
	prepared, err := c.manifest.InputSpec().Prepare(images, nil)
	if err != nil {
		return nil, wire.Request{}, err
	}
	size, err := wire.EncryptedBatchSize(&c.manifest)
	if err != nil {
		return nil, wire.Request{}, err
	}
	var buf bytes.Buffer
	buf.Grow(int(size))
	req, err := c.seal(prepared, progress, func(b *wire.SeededBatch, procs int, c0 func(int, int) (ring.Poly, error)) error {
		_, err := wire.WriteSeededBatch(&buf, &c.manifest, c.params, b, procs, c0)
		return err
	})
	if err != nil {
		return nil, wire.Request{}, err
	}
	return buf.Bytes(), req, nil
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
	err := c.eachRequest(records, name, progress, func(images [][]float64, progress packing.Progress) error {
		cts, err := c.encrypt(images, progress)
		if err != nil {
			return err
		}
		out = append(out, cts)
		return nil
	})
	return out, err
}

// WriteUpload encrypts any number of records as EncryptAll does and writes them to w
// as one upload: the envelope of a single request, or a sequence of several
// (wire.SequenceWriter). Each request is sealed as its ciphertexts are made, so that
// not even one request's ciphertexts are all in memory (w gets a few MiB at a time).
// It returns the requests, in order (keep them to read the download: ReadDownload;
// the upload holds them too, wire.ReadRequests), and the number of bytes written.
func (c *Client) WriteUpload(w io.Writer, records [][]float64, name func(int) string, progress packing.Progress) ([]wire.Request, int64, error) {
	if len(records) == 0 {
		return nil, 0, errs.New(errs.ErrInvalidArgument, "client: no records to encrypt")
	}
	sw, err := wire.NewSequenceWriter(w, wire.KindEncryptedBatch, &c.manifest, c.params, c.Requests(len(records)), len(records))
	if err != nil {
		return nil, 0, err
	}
	var requests []wire.Request
	err = c.eachRequest(records, name, progress, func(images [][]float64, progress packing.Progress) error {
		req, err := c.seal(images, progress, sw.WriteSeeded)
		requests = append(requests, req)
		return err
	})
	if err != nil {
		return nil, sw.Bytes(), err
	}
	return requests, sw.Bytes(), sw.Close()
}

// eachRequest prepares records, then hands them to each request by request, with the
// request's progress.
func (c *Client) eachRequest(records [][]float64, name func(int) string, progress packing.Progress, each func(images [][]float64, progress packing.Progress) error) error {
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
		err := each(prepared[r*per:min((r+1)*per, len(prepared))], func(_ string, done, total int) {
			progress.Report(what, done, total)
		})
		if err != nil {
			return fmt.Errorf("request %d of %d: %w", r+1, n, err)
		}
	}
	return nil
}

// Decrypt returns the logits of every image of the result of request req (the
// Request of the batch Encrypt returned). The result must answer req (errs.
// ErrMismatch otherwise), for as many images as req had and with the check values of
// the model at the request's secret check positions (errs.ErrIntegrity otherwise: a
// wrong key, a tampered result, or another request's result relabelled).
//
// Each failed check tells whoever built the result something about the decrypted
// values, and so about the secret key (docs/security.md): after an integrity error,
// use a new client (New) for further requests.
func (c *Client) Decrypt(req wire.Request, r *wire.Ciphertexts) ([][]float64, error) {
	if r == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "client: nil result")
	}
	if r.Request != req {
		return nil, errs.New(errs.ErrMismatch, "client: the result answers another request (%x), not the expected %x", r.Request.ID, req.ID)
	}
	if want := c.tag(req.ID, r.Images); !hmac.Equal(want[:], req.Tag[:]) {
		return nil, errs.New(errs.ErrIntegrity, "client: the result is for %d images, which request %x did not have, or the request is not this client's", r.Images, req.ID)
	}
	return c.codec.Decrypt(r.Ciphertexts, req.ID[:], r.Images)
}

// DecryptAll returns the logits of every image of the results of an upload's
// requests (as Decrypt does, result i answering requests[i]), in order.
func (c *Client) DecryptAll(requests []wire.Request, results []*wire.Ciphertexts) ([][]float64, error) {
	if len(results) != len(requests) {
		return nil, errs.New(errs.ErrMismatch, "client: %d results for %d requests", len(results), len(requests))
	}
	var logits [][]float64
	for i, r := range results {
		l, err := c.Decrypt(requests[i], r)
		if err != nil {
			return nil, fmt.Errorf("result %d of %d: %w", i+1, len(results), err)
		}
		logits = append(logits, l...)
	}
	return logits, nil
}

// ReadDownload reads the results of one upload of the given requests from r (the
// envelope of a single result, or a sequence: wire.SequenceReader), decrypting each
// as it arrives (result i must answer requests[i], see Decrypt), and returns the
// logits of every image in order. It reads nothing past the download, so downloads
// may follow each other on one stream; it returns io.EOF if r is at its end.
func (c *Client) ReadDownload(r io.Reader, requests []wire.Request) ([][]float64, error) {
	sr, err := wire.NewSequenceReader(r, wire.KindEncryptedResult, &c.manifest, c.params)
	if err != nil {
		return nil, err
	}
	if sr.Requests() != len(requests) {
		return nil, errs.New(errs.ErrMismatch, "client: a download of %d results for an upload of %d requests", sr.Requests(), len(requests))
	}
	var logits [][]float64
	for i := 0; ; i++ {
		res, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return logits, nil
		}
		if err != nil {
			return nil, err
		}
		l, err := c.Decrypt(requests[i], res)
		if err != nil {
			return nil, fmt.Errorf("result %d of %d: %w", i+1, sr.Requests(), err)
		}
		logits = append(logits, l...)
	}
}

// DecryptBytes opens a sealed encrypted result and decrypts it as the result of
// request req (see Decrypt).
func (c *Client) DecryptBytes(req wire.Request, data []byte) ([][]float64, error) {
	r, err := wire.DecodeCiphertexts(data, wire.KindEncryptedResult, &c.manifest, c.params)
	if err != nil {
		return nil, err
	}
	return c.Decrypt(req, r)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
