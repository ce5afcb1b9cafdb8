package wire_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// perRequest is the images per request of the sequence tests' plan.
const perRequest = 4

// sequenceFixture is a plan of perRequest images per request, its client and server,
// and records that take three requests (the last one short).
type sequenceFixture struct {
	model   *model.Model
	plan    compile.Plan
	client  *client.Client
	server  *server.Server
	records [][]float64
}

func newSequenceFixture(t testing.TB) *sequenceFixture {
	t.Helper()
	m := tinyModel(rand.New(rand.NewPCG(7, 6)), 6)
	p, err := compile.Compile(m, compile.Options{Packing: "batch", Params: params.InsecureN11.Name, AllowInsecure: true,
		Tuning: packing.Options{ImagesPerRequest: perRequest}})
	if err != nil {
		t.Fatal(err)
	}
	man := p.Manifest()
	c, err := client.New(&man, client.AllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.EvaluationKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	records := make([][]float64, 2*perRequest+1)
	for i := range records {
		records[i] = make([]float64, 16)
		for k := range records[i] {
			records[i][k] = float64((3*i+k)%7) / 6
		}
	}
	return &sequenceFixture{model: m, plan: p, client: c, server: srv, records: records}
}

// checkLogits compares logits with the plaintext reference of the records, in order.
func (f *sequenceFixture) checkLogits(t *testing.T, logits [][]float64) {
	t.Helper()
	ref, err := model.NewReference(f.model)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.ForwardAll(f.records)
	if err != nil {
		t.Fatal(err)
	}
	if len(logits) != len(want) {
		t.Fatalf("%d rows of logits for %d records", len(logits), len(want))
	}
	for i := range want {
		for j := range want[i] {
			if math.Abs(logits[i][j]-want[i][j]) > 1e-3 {
				t.Fatalf("record %d: logits %v, plaintext %v", i, logits[i], want[i])
			}
		}
	}
}

// upload returns the records as one upload, and its requests.
func (f *sequenceFixture) upload(t testing.TB) ([]byte, []wire.Request) {
	t.Helper()
	var buf bytes.Buffer
	requests, n, err := f.client.WriteUpload(&buf, f.records, nil, nil)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("upload of %d bytes, %d counted: %v", buf.Len(), n, err)
	}
	// What a client that kept only the upload reads back.
	back, err := wire.ReadRequests(bytes.NewReader(buf.Bytes()))
	if err != nil || len(back) != len(requests) {
		t.Fatalf("ReadRequests: %d requests of %d (%v)", len(back), len(requests), err)
	}
	for i := range back {
		if back[i] != requests[i] {
			t.Fatalf("ReadRequests: request %d differs", i)
		}
	}
	return buf.Bytes(), requests
}

// TestSequenceRoundTrip sends records that take three requests through one upload and
// one download, streamed, and gets the plaintext logits back in input order.
func TestSequenceRoundTrip(t *testing.T) {
	f := newSequenceFixture(t)
	upload, sent := f.upload(t)
	if h, err := wire.PeekHeader(upload); err != nil || h.Kind != wire.KindBatchSequence {
		t.Fatalf("upload starts with %+v (%v)", h, err)
	}
	var download bytes.Buffer
	st, err := f.server.PredictStream(context.Background(), bytes.NewReader(upload), &download, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 3 || st.Images != len(f.records) || st.InBytes != int64(len(upload)) || st.OutBytes != int64(download.Len()) {
		t.Errorf("stats %+v (upload %d bytes, download %d)", st, len(upload), download.Len())
	}
	logits, err := f.client.ReadDownload(bytes.NewReader(download.Bytes()), sent)
	if err != nil {
		t.Fatal(err)
	}
	f.checkLogits(t, logits)
	if _, err := f.client.ReadDownload(bytes.NewReader(download.Bytes()), sent[:2]); !errors.Is(err, errs.ErrMismatch) {
		t.Errorf("a download for another upload's requests: %v", err)
	}

	// The same through the in-memory API, and the buffers re-encode byte for byte.
	prm := f.plan.Parameters()
	man := f.plan.Manifest()
	results, err := wire.DecodeSequence(download.Bytes(), wire.KindEncryptedResult, &man, prm)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := wire.EncodeSequence(wire.KindEncryptedResult, &man, prm, results); err != nil || !bytes.Equal(again, download.Bytes()) {
		t.Errorf("the download re-encodes differently (%v)", err)
	}
	requests, err := f.client.EncryptAll(f.records, nil, nil)
	if err != nil || len(requests) != 3 || requests[2].Images != 1 {
		t.Fatalf("EncryptAll: %d requests (%v)", len(requests), err)
	}
	results, err = f.server.PredictAll(context.Background(), requests, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]wire.Request, len(requests))
	for i, r := range requests {
		reqs[i] = r.Request
	}
	logits, err = f.client.DecryptAll(reqs, results)
	if err != nil {
		t.Fatal(err)
	}
	f.checkLogits(t, logits)
}

// TestSingleRequestIsABareEnvelope checks that one request travels as its envelope,
// which every single-request reader takes, and that the stream readers take it too.
func TestSingleRequestIsABareEnvelope(t *testing.T) {
	f := newSequenceFixture(t)
	f.records = f.records[:perRequest]
	upload, sent := f.upload(t)
	result, err := f.server.PredictBytes(context.Background(), upload, nil)
	if err != nil {
		t.Fatalf("a one-request upload is not an encrypted batch: %v", err)
	}
	logits, err := f.client.ReadDownload(bytes.NewReader(result), sent)
	if err != nil {
		t.Fatal(err)
	}
	f.checkLogits(t, logits)
	var download bytes.Buffer
	if _, err := f.server.PredictStream(context.Background(), bytes.NewReader(upload), &download, nil); err != nil {
		t.Fatal(err)
	}
	if h, _ := wire.PeekHeader(download.Bytes()); h.Kind != wire.KindEncryptedResult {
		t.Errorf("the download of one request is a %s", h.Kind)
	}
}

// TestUploadsFollowEachOther serves two uploads from one stream, as predict does on
// standard input, and stops cleanly at its end.
func TestUploadsFollowEachOther(t *testing.T) {
	f := newSequenceFixture(t)
	up1, sent1 := f.upload(t)
	up2, sent2 := f.upload(t)
	stream := append(up1, up2...)
	in := bytes.NewReader(stream)
	var outs [][]byte
	for {
		var out bytes.Buffer
		_, err := f.server.PredictStream(context.Background(), in, &out, nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out.Bytes())
	}
	if len(outs) != 2 {
		t.Fatalf("%d downloads from two uploads", len(outs))
	}
	both := io.MultiReader(bytes.NewReader(outs[0]), bytes.NewReader(outs[1]))
	for _, sent := range [][]wire.Request{sent1, sent2} {
		logits, err := f.client.ReadDownload(both, sent)
		if err != nil {
			t.Fatal(err)
		}
		f.checkLogits(t, logits)
	}
}

func TestBadSequencesAreRejected(t *testing.T) {
	f := newSequenceFixture(t)
	other := newSequenceFixture(t) // another client: same plan
	upload, _ := f.upload(t)
	prm := f.plan.Parameters()
	man := f.plan.Manifest()
	requests, err := wire.DecodeSequence(upload, wire.KindEncryptedBatch, &man, prm)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := wire.EncodeCiphertexts(wire.KindEncryptedBatch, &man, prm, requests[0])
	front := wire.HeaderSize + 12 // the sequence's own envelope
	withCounts := func(requests uint32, images uint64) []byte {
		c := bytes.Clone(upload)
		binary.LittleEndian.PutUint32(c[wire.HeaderSize:], requests)
		binary.LittleEndian.PutUint64(c[wire.HeaderSize+4:], images)
		return c
	}
	hugePayload := bytes.Clone(upload)
	binary.LittleEndian.PutUint64(hugePayload[front+56:], 1<<40)
	otherPlan := compileTiny(t, params.InsecureN11, 7).Manifest()
	check := func(name string, data []byte, want error, words ...string) {
		t.Helper()
		_, err := wire.DecodeSequence(data, wire.KindEncryptedBatch, &man, prm)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
			return
		}
		for _, w := range words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", name, err, w)
			}
		}
	}
	check("cut in request 2", upload[:front+len(first)+100], errs.ErrMalformed, "request 2 of 3", "truncated")
	check("a request missing", upload[:front+2*len(first)], errs.ErrMalformed, "request 3 of 3 is missing")
	check("extended", append(bytes.Clone(upload), 1), errs.ErrMalformed, "after the last request")
	check("more images announced", withCounts(3, 10), errs.ErrMalformed, "request 3 of 3", "does not add up")
	check("fewer requests announced", withCounts(2, 8), errs.ErrMalformed, "after the last request")
	check("images that do not fit", withCounts(3, 13), errs.ErrMalformed, "cannot hold 13 images")
	check("no requests", withCounts(0, 0), errs.ErrMalformed, "cannot hold")
	check("a payload beyond the plan's", hugePayload, errs.ErrMalformed, "request 1 of 3", "at most")
	check("empty", nil, errs.ErrMalformed, "empty")
	// Another client's request in the middle passes the envelope checks (same plan):
	// only its decryption can tell; a request for another plan cannot pass.
	otherUpload, _ := other.upload(t)
	mixed := append(append(bytes.Clone(upload[:front+len(first)]), otherUpload[front+len(first):front+2*len(first)]...), upload[front+2*len(first):]...)
	if _, err := wire.DecodeSequence(mixed, wire.KindEncryptedBatch, &man, prm); err != nil {
		t.Errorf("a same-plan request of another client: %v", err)
	}
	if _, err := wire.DecodeSequence(upload, wire.KindEncryptedBatch, &otherPlan, prm); !errors.Is(err, errs.ErrMismatch) {
		t.Errorf("an upload for another plan: %v", err)
	}
	if _, err := wire.DecodeSequence(upload, wire.KindEncryptedResult, &man, prm); !errors.Is(err, errs.ErrMismatch) {
		t.Errorf("an upload read as a download: %v", err)
	}
	// A writer refuses counts that do not add up.
	w, err := wire.NewSequenceWriter(io.Discard, wire.KindEncryptedBatch, &man, prm, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(requests[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(requests[0]); err == nil {
		t.Error("the writer accepted 8 images for a sequence of 5")
	}
	if err := w.Close(); err == nil {
		t.Error("Close accepted a sequence with a request missing")
	}
}

// FuzzDecodeSequence feeds the sequence reader damaged uploads: an error, or requests
// whose images add up to what was announced, never a panic.
func FuzzDecodeSequence(f *testing.F) {
	fx := newSequenceFixture(f)
	upload, _ := fx.upload(f)
	man := fx.plan.Manifest()
	prm := fx.plan.Parameters()
	f.Add(upload[:wire.HeaderSize+12+wire.HeaderSize+64])
	f.Add(upload)
	f.Fuzz(func(t *testing.T, data []byte) {
		// What a client reads back of its upload: the requests, or a classified error.
		requests, rerr := wire.ReadRequests(bytes.NewReader(data))
		if rerr != nil {
			classified(t, rerr)
		}
		list, err := wire.DecodeSequence(data, wire.KindEncryptedBatch, &man, prm)
		if err != nil {
			classified(t, err)
			return
		}
		if rerr != nil || len(requests) != len(list) {
			t.Fatalf("a decodable upload of %d requests gives %d requests back (%v)", len(list), len(requests), rerr)
		}
		for i, c := range list {
			if c.Request != requests[i] {
				t.Fatalf("request %d reads back differently", i)
			}
		}
		for _, c := range list {
			if c.Images < 1 || c.Images > perRequest {
				t.Fatalf("a request of %d images", c.Images)
			}
		}
		if _, _, err := wire.PeekSequence(data); err != nil && len(list) > 1 {
			t.Fatalf("a sequence that decodes does not peek: %v", err)
		}
	})
}
