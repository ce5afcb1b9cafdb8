package main

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// phaseSeconds are the wall-clock times of the phases of a measured run. Each phase
// includes the serialization that belongs to it: keygen seals the evaluation keys and
// the server opens them; encrypt seals the upload; evaluate opens each request and
// seals its result; decrypt opens the results.
type phaseSeconds struct {
	Compile  float64 `json:"compile"`
	Keygen   float64 `json:"keygen"`
	Encrypt  float64 `json:"encrypt"`
	Evaluate float64 `json:"evaluate"`
	Decrypt  float64 `json:"decrypt"`
	// Plaintext is the float64 reference evaluation of the same images (demo only).
	Plaintext float64 `json:"plaintext,omitempty"`
}

// measurement is what one measured run observed.
type measurement struct {
	Manifest       manifest.Manifest
	Logits         [][]float64
	Batches        int
	Seconds        phaseSeconds
	ManifestBytes  int64
	SecretKeyBytes int64
	EvalKeyBytes   int64
	UploadBytes    int64
	DownloadBytes  int64
}

// measuredRun plays the whole exchange in one process, through bytes as over a
// network: the model owner seals the plan's manifest, the client opens it, makes keys
// and seals the evaluation keys, the server opens them; then the client encrypts the
// images into one upload (requests of up to ImagesPerBatch images), the server
// evaluates it into one download, and the client decrypts it. demo and bench both
// use it.
func measuredRun(p compile.Plan, images [][]float64, prog *progress) (*measurement, error) {
	meas := &measurement{Manifest: p.Manifest()}
	start := time.Now()
	man := p.Manifest()
	manBytes, err := wire.EncodeManifest(&man)
	if err != nil {
		return nil, err
	}
	meas.ManifestBytes = int64(len(manBytes))
	clientMan, err := wire.DecodeManifest(manBytes)
	if err != nil {
		return nil, err
	}
	var opts []client.Option
	if clientMan.Insecure {
		opts = append(opts, client.AllowInsecure()) // the caller compiled it with --insecure
	}
	cl, err := client.New(clientMan, opts...)
	if err != nil {
		return nil, err
	}
	sk, err := cl.ExportSecretKey()
	if err != nil {
		return nil, err
	}
	meas.SecretKeyBytes = int64(len(sk))
	evk, err := cl.EvaluationKeysBytes()
	if err != nil {
		return nil, err
	}
	meas.EvalKeyBytes = int64(len(evk))
	keys, err := wire.DecodeEvaluationKeys(evk, &man)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(p, keys)
	if err != nil {
		return nil, err
	}
	meas.Seconds.Keygen = time.Since(start).Seconds()
	prog.logf("keygen: %.2fs", meas.Seconds.Keygen)
	// Collect keygen's garbage now, as go test -bench does before each benchmark, so
	// that the first request does not pay for it.
	runtime.GC()

	meas.Batches = cl.Requests(len(images))
	// The upload's exact size is known beforehand (as for an HTTP body): the buffer
	// is made once, not grown by copies while the client writes.
	size, err := wire.UploadSize(&man, meas.Batches)
	if err != nil {
		return nil, err
	}
	var upload bytes.Buffer
	upload.Grow(int(size))
	start = time.Now()
	requests, _, err := cl.WriteUpload(&upload, images, nil, prog.task("encrypt"))
	if err != nil {
		return nil, err
	}
	meas.Seconds.Encrypt = time.Since(start).Seconds()
	meas.UploadBytes = int64(upload.Len())

	start = time.Now()
	var download bytes.Buffer
	if _, err := srv.PredictStream(context.Background(), &upload, &download, prog.task("evaluate")); err != nil {
		return nil, err
	}
	meas.Seconds.Evaluate = time.Since(start).Seconds()
	meas.DownloadBytes = int64(download.Len())

	start = time.Now()
	if meas.Logits, err = cl.ReadDownload(&download, requests); err != nil {
		return nil, err
	}
	meas.Seconds.Decrypt = time.Since(start).Seconds()
	prog.logf("decrypt: %d images in %d requests (%.1fs)", len(meas.Logits), meas.Batches, meas.Seconds.Decrypt)
	return meas, nil
}

// runStats are the measurements demo and bench both report.
type runStats struct {
	Model          string `json:"model"`
	Images         int    `json:"images"`
	Batches        int    `json:"batches"`
	ImagesPerBatch int    `json:"images_per_batch"`
	Packing        string `json:"packing"`
	// PackingChoice says how the packing was chosen, and why others could not hold
	// the network.
	PackingChoice *compile.Choice `json:"packing_choice,omitempty"`
	paramsInfo
	PrecisionBits float64 `json:"precision_bits"`
	// Seconds are the totals of each phase over all images.
	Seconds phaseSeconds `json:"seconds"`
	// TotalSeconds is encrypt + evaluate + decrypt: the time to get every result.
	TotalSeconds float64 `json:"total_seconds"`
	// LatencySeconds is the mean time of one request (one batch): encrypt, evaluate
	// and decrypt, including the wire format.
	LatencySeconds float64 `json:"latency_seconds"`
	// EncryptSeconds, EvaluateSeconds and DecryptSeconds are per image.
	EncryptSeconds  float64 `json:"encrypt_seconds"`
	EvaluateSeconds float64 `json:"evaluate_seconds"`
	DecryptSeconds  float64 `json:"decrypt_seconds"`
	// ImagesPerSecond is the server's throughput, images / evaluation seconds.
	ImagesPerSecond float64 `json:"images_per_second"`
	// UploadBytes and DownloadBytes are per image; the totals follow.
	UploadBytes        float64 `json:"upload_bytes"`
	DownloadBytes      float64 `json:"download_bytes"`
	UploadBytesTotal   int64   `json:"upload_bytes_total"`
	DownloadBytesTotal int64   `json:"download_bytes_total"`
	EvalKeyBytes       int64   `json:"eval_key_bytes"`
	SecretKeyBytes     int64   `json:"secret_key_bytes"`
	ManifestBytes      int64   `json:"manifest_bytes"`
	PeakRSSBytes       int64   `json:"peak_rss_bytes"`
}

// stats summarizes a measurement of len(meas.Logits) images under plan p.
func stats(p compile.Plan, meas *measurement) (runStats, error) {
	man := meas.Manifest
	pi, err := describeParams(&man)
	if err != nil {
		return runStats{}, err
	}
	n := float64(len(meas.Logits))
	s := meas.Seconds
	total := s.Encrypt + s.Evaluate + s.Decrypt
	for _, v := range []*float64{&s.Compile, &s.Keygen, &s.Encrypt, &s.Evaluate, &s.Decrypt, &s.Plaintext} {
		*v = round(*v, 3)
	}
	perImage := func(v float64) float64 { return roundSignificant(v/n, 4) }
	return runStats{
		Model: man.Model, Images: len(meas.Logits), Batches: meas.Batches, ImagesPerBatch: man.ImagesPerBatch,
		Packing: string(man.Packing), paramsInfo: pi, PrecisionBits: round(p.PrecisionBits(), 2), Seconds: s,
		TotalSeconds: round(total, 3), LatencySeconds: roundSignificant(total/float64(meas.Batches), 4),
		EncryptSeconds: perImage(meas.Seconds.Encrypt), EvaluateSeconds: perImage(meas.Seconds.Evaluate),
		DecryptSeconds: perImage(meas.Seconds.Decrypt), ImagesPerSecond: round(n/meas.Seconds.Evaluate, 1),
		UploadBytes: round(float64(meas.UploadBytes)/n, 1), DownloadBytes: round(float64(meas.DownloadBytes)/n, 1),
		UploadBytesTotal: meas.UploadBytes, DownloadBytesTotal: meas.DownloadBytes, EvalKeyBytes: meas.EvalKeyBytes,
		SecretKeyBytes: meas.SecretKeyBytes, ManifestBytes: meas.ManifestBytes, PeakRSSBytes: peakRSS(),
	}, nil
}

// rows adds the measurements to a text table.
func (s *runStats) rows(t *table) {
	sec := fmt.Sprintf("%d-bit security", s.SecurityBits)
	if s.Insecure || s.SecurityBits == 0 {
		sec = "INSECURE, tests only"
	}
	t.row("model", "%s", s.Model)
	t.row("parameters", "%s (log N = %d, log QP = %.1f, %s), %s packing, planned precision %.1f bits",
		s.Name, s.LogN, s.LogQP, sec, s.Packing, s.PrecisionBits)
	if s.PackingChoice != nil {
		t.row("packing", "%s", s.PackingChoice)
	}
	t.row("images", "%d in %d batch(es) of up to %d", s.Images, s.Batches, s.ImagesPerBatch)
	t.row("compile", "%.2f s", s.Seconds.Compile)
	t.row("keygen", "%.2f s", s.Seconds.Keygen)
	t.row("encrypt", "%.2f s", s.Seconds.Encrypt)
	t.row("evaluate", "%.2f s (%.1f images/s)", s.Seconds.Evaluate, s.ImagesPerSecond)
	t.row("decrypt", "%.2f s", s.Seconds.Decrypt)
	t.row("latency", "%.3f s per request of up to %d images (encrypt, evaluate, decrypt)", s.LatencySeconds, s.ImagesPerBatch)
	if s.Seconds.Plaintext > 0 {
		t.row("plaintext", "%.2f s", s.Seconds.Plaintext)
	}
	t.row("upload", "%s (%s per image)", byteSize(s.UploadBytesTotal), byteSize(int64(s.UploadBytes)))
	t.row("download", "%s (%s per image)", byteSize(s.DownloadBytesTotal), byteSize(int64(s.DownloadBytes)))
	t.row("evaluation keys", "%s", byteSize(s.EvalKeyBytes))
	t.row("peak memory", "%s", byteSize(s.PeakRSSBytes))
}

// peakRSS returns the process's peak resident set size in bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}
