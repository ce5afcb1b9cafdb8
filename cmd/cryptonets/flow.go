package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// labelsFile is the JSON file encrypt --labels-out writes and decrypt --labels reads:
// the true labels of the encrypted MNIST test images [Offset, Offset+Images).
type labelsFile struct {
	Offset int   `json:"offset"`
	Images int   `json:"images"`
	Labels []int `json:"labels"`
}

// encryptReport is the output of encrypt.
type encryptReport struct {
	Output        string  `json:"output"`
	Images        int     `json:"images"`
	Offset        int     `json:"offset"`
	Ciphertexts   int     `json:"ciphertexts"`
	Bytes         int64   `json:"bytes"`
	BytesPerImage float64 `json:"bytes_per_image"`
	Seconds       float64 `json:"seconds"`
	LabelsOut     string  `json:"labels_out,omitempty"`
}

// writeText implements report.
func (r *encryptReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "encrypted MNIST test images [%d, %d) -> %s\n", r.Offset, r.Offset+r.Images, r.Output)
	t := newTable(w)
	t.row("ciphertexts", "%d", r.Ciphertexts)
	t.row("size", "%s (%s per image)", byteSize(r.Bytes), byteSize(int64(r.BytesPerImage)))
	t.row("time", "%.2f s", r.Seconds)
	if r.LabelsOut != "" {
		t.row("true labels", "%s", r.LabelsOut)
	}
	t.flush()
}

// runEncrypt is the encrypt command (client).
func runEncrypt(c *cli, args []string) error {
	fs := c.flags("--manifest manifest.bin --secret-key sk.bin --images N [--offset K] -o batch.bin [--labels-out labels.json] [--json]", `
Client: encrypts the MNIST test images [K, K+N) into one batch file for the server
(N at most the manifest's images per batch).`)
	mf := addManifestFlags(fs)
	skPath := fs.String("secret-key", "", "the client's secret key (required)")
	n := fs.Int("images", 0, "number `N` of MNIST test images to encrypt (required)")
	offset := fs.Int("offset", 0, "index `K` of the first MNIST test image")
	dst := fs.String("o", "", "encrypted batch file to write (required)")
	labelsOut := fs.String("labels-out", "", "also write the true labels to this JSON `file`")
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "manifest", "secret-key", "o"); err != nil {
		return err
	}
	man, err := readManifest(mf.path)
	if err != nil {
		return err
	}
	if *n == 0 {
		return errs.New(errs.ErrInvalidArgument, "flag --images is required (see '%s -h')", c.name)
	}
	if *n < 1 || *n > man.ImagesPerBatch {
		return errs.New(errs.ErrInvalidArgument, "--images %d: want 1 to %d (the manifest's images per batch)", *n, man.ImagesPerBatch)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		return err
	}
	if *offset < 0 || *offset+*n > len(set.Records) {
		return errs.New(errs.ErrInvalidArgument, "--offset %d --images %d: the MNIST test set has images 0 to %d", *offset, *n, len(set.Records)-1)
	}
	skData, err := readFile(*skPath, "secret key")
	if err != nil {
		return err
	}
	cl, err := client.Restore(man, skData, mf.clientOptions()...)
	if err != nil {
		return fmt.Errorf("%s: %w", *skPath, err)
	}
	start := time.Now()
	prog := newProgress(c.stderr, out.quiet)
	cts, err := cl.Encrypt(set.Records[*offset:*offset+*n], prog.task("encrypt"))
	if err != nil {
		return err
	}
	var size int64
	err = writeFile(*dst, 0o644, func(w io.Writer) error {
		written, werr := wire.WriteCiphertexts(w, wire.KindEncryptedBatch, man, cl.Parameters(), cts)
		size = written
		return werr
	})
	if err != nil {
		return err
	}
	rep := &encryptReport{Output: *dst, Images: *n, Offset: *offset, Ciphertexts: len(cts.Ciphertexts), Bytes: size,
		BytesPerImage: round(float64(size)/float64(*n), 1), Seconds: round(time.Since(start).Seconds(), 3)}
	if *labelsOut != "" {
		lf := labelsFile{Offset: *offset, Images: *n, Labels: set.Labels[*offset : *offset+*n]}
		data, err := json.Marshal(lf)
		if err != nil {
			return err
		}
		if err := writeBytes(*labelsOut, 0o644, append(data, '\n')); err != nil {
			return err
		}
		rep.LabelsOut = *labelsOut
	}
	return c.emit(out, rep)
}

// predictReport is the output of predict.
type predictReport struct {
	Output          string  `json:"output"`
	Images          int     `json:"images"`
	InputBytes      int64   `json:"input_bytes"`
	OutputBytes     int64   `json:"output_bytes"`
	Params          string  `json:"params"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
}

// writeText implements report.
func (r *predictReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "evaluated %d encrypted images -> %s\n", r.Images, r.Output)
	t := newTable(w)
	t.row("parameters", "%s", r.Params)
	t.row("batch in", "%s", byteSize(r.InputBytes))
	t.row("result out", "%s", byteSize(r.OutputBytes))
	t.row("evaluation", "%.2f s (%.1f images/s)", r.Seconds, r.ImagesPerSecond)
	t.flush()
}

// runPredict is the predict command (server): it reads no secret key.
func runPredict(c *cli, args []string) error {
	fs := c.flags("--model MODEL.cnm --eval-keys evk.bin --in batch.bin -o result.bin [--insecure] [--json]", `
Server: compiles the converted model into the plan of the manifest the client's
evaluation keys were made for (the keys carry it), evaluates it on an encrypted batch
with those keys and writes the encrypted result. It takes no secret key: the batch
must have been made for exactly that plan (the envelope's fingerprints are checked).`)
	modelPath := fs.String("model", "", "the converted model, .cnm (required)")
	evkPath := fs.String("eval-keys", "", "the client's evaluation keys (required)")
	in := fs.String("in", "", "encrypted batch file (required)")
	dst := fs.String("o", "", "encrypted result file to write (required)")
	insecure := fs.Bool("insecure", false, "accept keys made for an Insecure… parameter set (tests only: NOT secure)")
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "model", "eval-keys", "in", "o"); err != nil {
		return err
	}
	m, err := loadConverted(*modelPath)
	if err != nil {
		return err
	}
	evkData, err := readFile(*evkPath, "evaluation keys")
	if err != nil {
		return err
	}
	keysFor, err := wire.EvaluationKeysManifest(evkData)
	if err != nil {
		return fmt.Errorf("%s: %w", *evkPath, err)
	}
	if keysFor.Insecure && !*insecure {
		return errs.New(errs.ErrInsecure, "%s: the keys were made for %s, which is NOT secure (add --insecure to accept it, for tests only)", *evkPath, keysFor.Params)
	}
	p, err := compile.ForManifest(m, *keysFor, *insecure)
	if err != nil {
		return err
	}
	man := p.Manifest()
	keys, err := wire.DecodeEvaluationKeys(evkData, &man)
	if err != nil {
		return fmt.Errorf("%s: %w", *evkPath, err)
	}
	srv, err := server.New(p, keys)
	if err != nil {
		return err
	}
	data, err := readFile(*in, "encrypted batch")
	if err != nil {
		return err
	}
	inBytes := int64(len(data))
	start := time.Now()
	enc, err := wire.DecodeCiphertexts(data, wire.KindEncryptedBatch, &man, p.Parameters())
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	data = nil // the decoded ciphertexts are all the server keeps
	prog := newProgress(c.stderr, out.quiet)
	res, err := srv.Predict(context.Background(), enc, prog.task("evaluate"))
	if err != nil {
		return err
	}
	var size int64
	err = writeFile(*dst, 0o644, func(w io.Writer) error {
		written, werr := wire.WriteCiphertexts(w, wire.KindEncryptedResult, &man, p.Parameters(), res)
		size = written
		return werr
	})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	return c.emit(out, &predictReport{Output: *dst, Images: res.Images, InputBytes: inBytes, OutputBytes: size,
		Params: man.Params, Seconds: round(secs, 3), ImagesPerSecond: round(float64(res.Images)/secs, 1)})
}

// decryptReport is the output of decrypt.
type decryptReport struct {
	Images int   `json:"images"`
	Labels []int `json:"labels"`
	// Logits are printed only with --json, and written with -o.
	Logits [][]float64 `json:"logits,omitempty"`
	// Accuracy against --labels, if given.
	Accuracy *float64 `json:"accuracy,omitempty"`
	Output   string   `json:"output,omitempty"`
}

// writeText implements report.
func (r *decryptReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "predicted labels of %d images:\n", r.Images)
	intList(w, "  ", r.Labels, 32)
	if r.Accuracy != nil {
		fmt.Fprintf(w, "accuracy against the true labels: %s\n", percent(*r.Accuracy))
	}
	if r.Output != "" {
		fmt.Fprintf(w, "labels and logits written to %s\n", r.Output)
	}
}

// runDecrypt is the decrypt command (client).
func runDecrypt(c *cli, args []string) error {
	fs := c.flags("--manifest manifest.bin --secret-key sk.bin --in result.bin [-o predictions.json] [--labels labels.json] [--json]", `
Client: decrypts an encrypted result and prints the predicted labels (with --json,
the logits too). Keep decrypted logits to yourself: CKKS decryptions shown to
someone who also has the ciphertexts leak the secret key. Share only labels.`)
	mf := addManifestFlags(fs)
	skPath := fs.String("secret-key", "", "the client's secret key (required)")
	in := fs.String("in", "", "encrypted result file (required)")
	dst := fs.String("o", "", "write labels and logits to this JSON `file`")
	labelsPath := fs.String("labels", "", "true labels written by 'encrypt --labels-out', to report accuracy")
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "manifest", "secret-key", "in"); err != nil {
		return err
	}
	man, err := readManifest(mf.path)
	if err != nil {
		return err
	}
	skData, err := readFile(*skPath, "secret key")
	if err != nil {
		return err
	}
	cl, err := client.Restore(man, skData, mf.clientOptions()...)
	if err != nil {
		return fmt.Errorf("%s: %w", *skPath, err)
	}
	data, err := readFile(*in, "encrypted result")
	if err != nil {
		return err
	}
	logits, err := cl.DecryptBytes(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	rep := &decryptReport{Images: len(logits), Labels: make([]int, len(logits)), Logits: logits}
	for i, l := range logits {
		rep.Labels[i] = model.Argmax(l)
	}
	if *labelsPath != "" {
		acc, err := accuracyFromFile(*labelsPath, logits)
		if err != nil {
			return err
		}
		rep.Accuracy = &acc
	}
	if *dst != "" {
		data, err := json.Marshal(struct {
			Images int         `json:"images"`
			Labels []int       `json:"labels"`
			Logits [][]float64 `json:"logits"`
		}{rep.Images, rep.Labels, logits})
		if err != nil {
			return err
		}
		if err := writeBytes(*dst, 0o600, append(data, '\n')); err != nil {
			return err
		}
		rep.Output = *dst
	}
	if !out.json {
		rep.Logits = nil
	}
	return c.emit(out, rep)
}

// accuracyFromFile compares the argmax of logits with the labels of a labels file.
func accuracyFromFile(path string, logits [][]float64) (float64, error) {
	data, err := readFile(path, "labels")
	if err != nil {
		return 0, err
	}
	var lf labelsFile
	if err := json.Unmarshal(data, &lf); err != nil {
		return 0, errs.New(errs.ErrMalformed, "%s: not a labels file: %w", path, err)
	}
	if len(lf.Labels) != len(logits) {
		return 0, errs.New(errs.ErrInvalidArgument, "%s: %d labels for %d decrypted images", path, len(lf.Labels), len(logits))
	}
	return accuracy(logits, lf.Labels), nil
}
