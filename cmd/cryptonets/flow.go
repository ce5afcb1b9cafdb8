package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// encryptReport is the output of encrypt.
type encryptReport struct {
	Output  string `json:"output"`
	Records int    `json:"records"`
	// Requests is the number of requests the records take, of up to ImagesPerRequest
	// records each; each request is Ciphertexts ciphertexts.
	Requests         int     `json:"requests"`
	ImagesPerRequest int     `json:"images_per_request"`
	Ciphertexts      int     `json:"ciphertexts"`
	Bytes            int64   `json:"bytes"`
	BytesPerRecord   float64 `json:"bytes_per_record"`
	Seconds          float64 `json:"seconds"`
	InputsOut        string  `json:"inputs_out,omitempty"`
	// First and Last name the first and the last record encrypted.
	First string `json:"first"`
	Last  string `json:"last"`
}

// writeText implements report.
func (r *encryptReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "encrypted %d records (%s … %s) -> %s\n", r.Records, r.First, r.Last, r.Output)
	t := newTable(w)
	t.row("requests", "%d of up to %d records, %d ciphertexts each", r.Requests, r.ImagesPerRequest, r.Ciphertexts)
	t.row("size", "%s (%s per record)", byteSize(r.Bytes), byteSize(int64(r.BytesPerRecord)))
	t.row("time", "%.2f s", r.Seconds)
	if r.InputsOut != "" {
		t.row("inputs", "%s (file names and true labels: keep it with the secret key)", r.InputsOut)
	}
	t.flush()
}

// runEncrypt is the encrypt command (client).
func runEncrypt(c *cli, args []string) error {
	fs := c.flags("--manifest manifest.bin --secret-key sk.bin (--in PATH [--in PATH …] | --images N [--offset K]) -o upload.bin [--inputs-out inputs.json] [--json]", `
Client: encrypts records into one upload for the server: the records of the files
given with --in (`+dataset.Formats+`), in order, or without --in the MNIST
test images [K, K+N). Any number of records: they are split into requests of the
manifest's size, one upload file (or, with -o -, standard output) holding them all.
Image pixels become value/255 in [0, 1]; every record must have the model's input
shape and lie in its input range, or the error names its file and row.`)
	mf := addManifestFlags(fs)
	skPath := fs.String("secret-key", "", "the client's secret key (required)")
	inputs := addInputFlags(fs)
	dst := fs.String("o", "", "upload file to write, or - for standard output (required)")
	inputsOut := fs.String("inputs-out", "", "also write where each record came from (and its true label, if known) to this JSON `file`, for decrypt --inputs")
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "manifest", "secret-key", "o"); err != nil {
		return err
	}
	c.stdoutIsData = *dst == "-"
	man, err := readManifest(mf.path)
	if err != nil {
		return err
	}
	set, err := inputs.read(c, man.Input)
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
	start := time.Now()
	prog := newProgress(c.stderr, out.quiet)
	var size int64
	err = c.writeOutput(*dst, 0o644, func(w io.Writer) error {
		_, size, err = cl.WriteUpload(w, set.Records, set.Name, prog.task("encrypt"))
		return err
	})
	if err != nil {
		return err
	}
	rep := &encryptReport{Output: *dst, Records: set.Len(), Requests: cl.Requests(set.Len()), ImagesPerRequest: man.ImagesPerBatch,
		Ciphertexts: man.InputCiphertexts, Bytes: size, BytesPerRecord: round(float64(size)/float64(set.Len()), 1),
		Seconds: round(time.Since(start).Seconds(), 3), First: set.Name(0), Last: set.Name(set.Len() - 1)}
	if *inputsOut != "" {
		if err := writeInputs(*inputsOut, set); err != nil {
			return err
		}
		rep.InputsOut = *inputsOut
	}
	return c.emit(out, rep)
}

// uploadReport is what predict did with one upload.
type uploadReport struct {
	Input           string  `json:"input"`
	Output          string  `json:"output"`
	Requests        int     `json:"requests"`
	Records         int     `json:"records"`
	InputBytes      int64   `json:"input_bytes"`
	OutputBytes     int64   `json:"output_bytes"`
	EvaluateSeconds float64 `json:"evaluate_seconds"`
	OpenSealSeconds float64 `json:"open_seal_seconds"`
}

// predictReport is the output of predict.
type predictReport struct {
	Model   string         `json:"model"`
	Packing string         `json:"packing"`
	Params  string         `json:"params"`
	Uploads []uploadReport `json:"uploads"`
	// Requests and Records are the totals over all uploads, as are the bytes.
	Requests    int   `json:"requests"`
	Records     int   `json:"records"`
	InputBytes  int64 `json:"input_bytes"`
	OutputBytes int64 `json:"output_bytes"`
	// CompileSeconds is the one compilation of the plan the keys were made for.
	CompileSeconds float64 `json:"compile_seconds"`
	// EvaluateSeconds is the sum of the evaluations of every request; OpenSealSeconds
	// the time spent reading and opening the requests and sealing and writing their
	// results.
	EvaluateSeconds float64 `json:"evaluate_seconds"`
	OpenSealSeconds float64 `json:"open_seal_seconds"`
	// WallSeconds is the whole command: loading, compiling, reading, evaluating and
	// writing.
	WallSeconds      float64 `json:"wall_seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
}

// writeText implements report.
func (r *predictReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "evaluated %d encrypted records in %d request(s) from %d upload(s) (%s packing, %s)\n",
		r.Records, r.Requests, len(r.Uploads), r.Packing, r.Params)
	t := newTable(w)
	for _, u := range r.Uploads {
		t.row(u.Input, "%d records -> %s (%.2f s)", u.Records, u.Output, u.EvaluateSeconds)
	}
	t.row("uploads in", "%s", byteSize(r.InputBytes))
	t.row("results out", "%s", byteSize(r.OutputBytes))
	t.row("compile", "%.2f s, once", r.CompileSeconds)
	t.row("evaluation", "%.2f s (%.1f records/s)", r.EvaluateSeconds, r.RecordsPerSecond)
	t.row("open and seal", "%.2f s (reading and opening the requests, sealing and writing the results)", r.OpenSealSeconds)
	t.row("wall time", "%.2f s", r.WallSeconds)
	t.flush()
}

// uploadJob is one upload predict reads and the result file it writes.
type uploadJob struct{ in, out string }

// runPredict is the predict command (server): it reads no secret key.
func runPredict(c *cli, args []string) error {
	fs := c.flags("--model MODEL.cnm --eval-keys evk.bin --in upload.bin [--in …] -o result.bin|DIR [--insecure] [--json]", `
Server: compiles the converted model into the plan of the manifest the client's
evaluation keys were made for (the keys carry it: no flag needs repeating), evaluates
it on encrypted uploads with those keys and writes the encrypted results. One process
serves many uploads and compiles once: give several --in, or a directory of uploads
(results go to the directory -o, named after each upload: up.bin -> up.result.bin),
or --in - to read uploads one after the other from standard input (results go to -o,
a file or - for standard output, in the same order). It takes no secret key: the
uploads must have been made for exactly that plan (the envelopes' fingerprints are
checked).`)
	modelPath := fs.String("model", "", "the converted model, .cnm (required)")
	evkPath := fs.String("eval-keys", "", "the client's evaluation keys (required)")
	var in stringList
	fs.Var(&in, "in", "an upload `FILE`, a directory of uploads, or - for standard input; repeat for more (required)")
	dst := fs.String("o", "", "result file, or directory for several uploads, or - for standard output (required)")
	insecure := fs.Bool("insecure", false, "accept keys made for an Insecure… parameter set (tests only: NOT secure)")
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "model", "eval-keys", "o"); err != nil {
		return err
	}
	jobs, err := uploadJobs(in, *dst)
	if err != nil {
		return err
	}
	c.stdoutIsData = *dst == "-"
	wall := time.Now()
	srv, compileSecs, err := newServer(*modelPath, *evkPath, *insecure)
	if err != nil {
		return err
	}
	man := srv.Manifest()
	rep := &predictReport{Model: man.Model, Packing: string(man.Packing), Params: man.Params, CompileSeconds: round(compileSecs, 3)}
	prog := newProgress(c.stderr, out.quiet)
	for _, job := range jobs {
		uploads, err := c.serveUploads(srv, job, prog)
		if err != nil {
			return err
		}
		rep.Uploads = append(rep.Uploads, uploads...)
	}
	for _, u := range rep.Uploads {
		rep.Requests += u.Requests
		rep.Records += u.Records
		rep.InputBytes += u.InputBytes
		rep.OutputBytes += u.OutputBytes
		rep.EvaluateSeconds += u.EvaluateSeconds
		rep.OpenSealSeconds += u.OpenSealSeconds
	}
	rep.OpenSealSeconds = round(rep.OpenSealSeconds, 3)
	rep.RecordsPerSecond = round(float64(rep.Records)/rep.EvaluateSeconds, 1)
	rep.EvaluateSeconds = round(rep.EvaluateSeconds, 3)
	rep.WallSeconds = round(time.Since(wall).Seconds(), 3)
	return c.emit(out, rep)
}

// newServer loads the model and the evaluation keys and compiles the plan of the
// manifest the keys carry; it returns the compilation's seconds.
func newServer(modelPath, evkPath string, insecure bool) (*server.Server, float64, error) {
	m, err := loadConverted(modelPath)
	if err != nil {
		return nil, 0, err
	}
	evkData, err := readFile(evkPath, "evaluation keys")
	if err != nil {
		return nil, 0, err
	}
	keysFor, err := wire.EvaluationKeysManifest(evkData)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", evkPath, err)
	}
	if keysFor.Insecure && !insecure {
		return nil, 0, errs.New(errs.ErrInsecure, "%s: the keys were made for %s, which is NOT secure (add --insecure to accept it, for tests only)", evkPath, keysFor.Params)
	}
	start := time.Now()
	p, err := compile.ForManifest(m, *keysFor, insecure)
	if err != nil {
		return nil, 0, err
	}
	secs := time.Since(start).Seconds()
	man := p.Manifest()
	keys, err := wire.DecodeEvaluationKeys(evkData, &man)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", evkPath, err)
	}
	srv, err := server.New(p, keys)
	return srv, secs, err
}

// uploadJobs lists the uploads of the --in arguments and where each result goes.
func uploadJobs(in []string, dst string) ([]uploadJob, error) {
	if len(in) == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "flag --in is required (see 'cryptonets predict -h')")
	}
	if len(in) == 1 && in[0] == "-" {
		return []uploadJob{{in: "-", out: dst}}, nil
	}
	var files []string
	for _, path := range in {
		if path == "-" {
			return nil, errs.New(errs.ErrInvalidArgument, "--in -: standard input cannot be mixed with files")
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, errs.New(errs.ErrIO, "read upload: %w", err)
		}
		if !st.IsDir() {
			files = append(files, path)
			continue
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, errs.New(errs.ErrIO, "read uploads: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "--in: no uploads")
	}
	if st, err := os.Stat(dst); len(files) == 1 && len(in) == 1 && (err != nil || !st.IsDir()) {
		return []uploadJob{{in: files[0], out: dst}}, nil
	}
	if dst == "-" {
		return nil, errs.New(errs.ErrInvalidArgument, "-o -: several uploads need a directory for their results (or give them on standard input)")
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, errs.New(errs.ErrIO, "-o %s: %w", dst, err)
	}
	jobs := make([]uploadJob, len(files))
	for i, f := range files {
		base := filepath.Base(f)
		ext := filepath.Ext(base)
		jobs[i] = uploadJob{in: f, out: filepath.Join(dst, strings.TrimSuffix(base, ext)+".result"+ext)}
	}
	return jobs, nil
}

// serveUploads evaluates the upload of a file, or every upload on standard input, and
// writes the results.
func (c *cli) serveUploads(srv *server.Server, job uploadJob, prog *progress) ([]uploadReport, error) {
	src, err := openInput(c, job.in, "upload")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var reps []uploadReport
	err = c.writeOutput(job.out, 0o644, func(w io.Writer) error {
		for {
			st, err := srv.PredictStream(context.Background(), src, w, prog.task("evaluate"))
			if errors.Is(err, io.EOF) && (job.in == "-" && len(reps) > 0) {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return errs.New(errs.ErrMalformed, "%s: no upload: the input is empty", job.in)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", job.in, err)
			}
			reps = append(reps, uploadReport{Input: job.in, Output: job.out, Requests: st.Requests, Records: st.Images,
				InputBytes: st.InBytes, OutputBytes: st.OutBytes, EvaluateSeconds: round(st.EvaluateSeconds, 3),
				OpenSealSeconds: round(st.OpenSealSeconds, 3)})
			if job.in != "-" {
				return atEnd(src, job.in)
			}
		}
	})
	return reps, err
}

// atEnd checks that r, which held one upload or download, has nothing more.
func atEnd(r io.Reader, name string) error {
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return errs.New(errs.ErrMalformed, "%s: bytes after the end of its content (extended)", name)
	}
	return nil
}

// decryptReport is the output of decrypt.
type decryptReport struct {
	*predictionReport
	Results int `json:"results"`
}

// runDecrypt is the decrypt command (client).
func runDecrypt(c *cli, args []string) error {
	fs := c.flags("--manifest manifest.bin --secret-key sk.bin --request upload.bin --in result.bin [--request … --in …] [--inputs inputs.json] [--out labels.csv|.json|.npy] [--logits] [--probabilities] [--labels FILE] [--json]", `
Client: decrypts encrypted results (one file per upload, in the order of the uploads,
or - for standard input) and reports the predicted label of every record in input
order; --out writes them, one row per record, with the input's file and row when
--inputs names them (the file encrypt --inputs-out wrote). Each download must answer
its upload, named by --request in the same order (only the upload's headers are
read): the result of another request, or one that fails the integrity check, is an
error (after an integrity error, make a new key: see docs/security.md). Keep
decrypted logits and probabilities to yourself: CKKS decryptions shown to someone
who also has the ciphertexts leak the secret key. Share only labels.`)
	mf := addManifestFlags(fs)
	skPath := fs.String("secret-key", "", "the client's secret key (required)")
	var in, uploads stringList
	fs.Var(&in, "in", "an encrypted result `FILE`, or - for standard input; repeat for more (required)")
	fs.Var(&uploads, "request", "the upload `FILE` a download answers, as encrypt wrote it; one per download, in order (required)")
	inputsPath := fs.String("inputs", "", "the inputs file encrypt --inputs-out wrote: file names, and true labels if known")
	pf := addPredictionFlags(fs)
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "manifest", "secret-key"); err != nil {
		return err
	}
	if len(in) == 0 {
		return errs.New(errs.ErrInvalidArgument, "flag --in is required (see '%s -h')", c.name)
	}
	if len(uploads) == 0 {
		return errs.New(errs.ErrInvalidArgument, "flag --request is required: the upload each download answers (see '%s -h')", c.name)
	}
	if err := pf.checkOut(); err != nil {
		return err
	}
	man, err := readManifest(mf.path)
	if err != nil {
		return err
	}
	var requests [][]wire.Request // those of each upload, in order
	for _, path := range uploads {
		reqs, err := readRequests(path)
		if err != nil {
			return err
		}
		requests = append(requests, reqs)
	}
	skData, err := readFile(*skPath, "secret key")
	if err != nil {
		return err
	}
	cl, err := client.Restore(man, skData, mf.clientOptions()...)
	if err != nil {
		return fmt.Errorf("%s: %w", *skPath, err)
	}
	p := &predictions{}
	results := 0
	for _, path := range in {
		logits, n, err := c.readDownloads(cl, path, requests[min(results, len(requests)):])
		if err != nil {
			return err
		}
		p.logits = append(p.logits, logits...)
		results += n
	}
	if results != len(requests) {
		return errs.New(errs.ErrInvalidArgument, "%d downloads for the %d uploads of --request", results, len(requests))
	}
	if *inputsPath != "" {
		inputs, err := readInputs(*inputsPath, len(p.logits))
		if err != nil {
			return err
		}
		p.sources, p.truth = inputs.Inputs, inputs.Labels
	}
	rep, err := pf.finish(p)
	if err != nil {
		return err
	}
	return c.emit(out, &decryptReport{predictionReport: rep, Results: results})
}

// readDownloads decrypts the download of a file, or every download on standard input,
// download k answering the upload of requests[k], and returns the logits and the
// number of downloads.
func (c *cli) readDownloads(cl *client.Client, path string, requests [][]wire.Request) ([][]float64, int, error) {
	src, err := openInput(c, path, "encrypted result")
	if err != nil {
		return nil, 0, err
	}
	defer src.Close()
	var all [][]float64
	for n := 0; ; n++ {
		if n == len(requests) {
			if n > 0 && atEnd(src, path) == nil {
				return all, n, nil
			}
			return nil, 0, errs.New(errs.ErrInvalidArgument, "%s: more downloads than the uploads of --request", path)
		}
		logits, err := cl.ReadDownload(src, requests[n])
		switch {
		case errors.Is(err, io.EOF) && n == 0:
			return nil, 0, errs.New(errs.ErrMalformed, "%s: no encrypted result: the input is empty", path)
		case errors.Is(err, io.EOF):
			return all, n, nil
		case err != nil:
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		all = append(all, logits...)
		if path != "-" {
			return all, 1, atEnd(src, path)
		}
	}
}

// plainReport is the output of predict-plain.
type plainReport struct {
	*predictionReport
	Model string `json:"model"`
	// First and Last name the first and the last record evaluated.
	First   string  `json:"first"`
	Last    string  `json:"last"`
	Seconds float64 `json:"seconds"`
}

// runPredictPlain is the predict-plain command: the converted model in float64 on
// plaintext records, no key involved.
func runPredictPlain(c *cli, args []string) error {
	fs := c.flags("--model MODEL.cnm (--in PATH [--in …] | --images N [--offset K]) [--out labels.csv|.json|.npy] [--logits] [--probabilities] [--labels FILE] [--json]", `
Evaluates a converted model in float64 on plaintext records, exactly as the encrypted
evaluation is checked against, to see how it does on your own data before any key
exists: the records of the files given with --in (`+dataset.Formats+`), or
without --in the MNIST test images [K, K+N). The records are read and prepared as
encrypt does. Accuracy is reported against --labels, or the labels the input carries
(a CSV --label-column, MNIST).`)
	modelPath := fs.String("model", "", "the converted model, .cnm (required)")
	inputs := addInputFlags(fs)
	pf := addPredictionFlags(fs)
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "model"); err != nil {
		return err
	}
	if err := pf.checkOut(); err != nil {
		return err
	}
	m, err := loadConverted(*modelPath)
	if err != nil {
		return err
	}
	set, err := inputs.read(c, m.Input)
	if err != nil {
		return err
	}
	start := time.Now()
	logits, err := m.Predict(set.Records, set.Name)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	rep, err := pf.finish(&predictions{logits: logits, sources: set.Sources, truth: set.Labels})
	if err != nil {
		return err
	}
	return c.emit(out, &plainReport{predictionReport: rep, Model: m.Name, First: set.Name(0), Last: set.Name(set.Len() - 1),
		Seconds: round(secs, 3)})
}

// writeText implements report.
func (r *plainReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "plaintext evaluation of %s on %d records (%s … %s), %.2f s\n", r.Model, r.Records, r.First, r.Last, r.Seconds)
	r.predictionReport.writeText(w)
}
