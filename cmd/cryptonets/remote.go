package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/remote"
)

// runRemote is the remote command: the client of cryptonets serve.
func runRemote(c *cli, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(c.stdout, `Usage: cryptonets remote predict|models [flags]

The client of cryptonets serve (docs/service.md):
  predict  encrypt records, send them to the server, decrypt the predictions
  models   list the models a server hosts and their plans
Both take --server URL (or $CRYPTONETS_SERVER), --token (or $CRYPTONETS_TOKEN) and
--json; see 'cryptonets remote predict -h'.
`)
			return nil
		}
		return errs.New(errs.ErrInvalidArgument, "remote: want a subcommand: predict or models (see 'cryptonets remote -h')")
	}
	switch args[0] {
	case "predict":
		c.name += " predict"
		return runRemotePredict(c, args[1:])
	case "models":
		c.name += " models"
		return runRemoteModels(c, args[1:])
	}
	return errs.New(errs.ErrInvalidArgument, "remote: unknown subcommand %q: want predict or models", args[0])
}

// connectFlags are the flags of every remote subcommand.
type connectFlags struct {
	server, token, keysDir string
	tlsCA, tlsCert, tlsKey string
	inFlight               int
	insecure               bool
}

func addConnectFlags(fs *flag.FlagSet) *connectFlags {
	f := &connectFlags{}
	fs.StringVar(&f.server, "server", os.Getenv("CRYPTONETS_SERVER"), "the server's `URL` (default $CRYPTONETS_SERVER)")
	fs.StringVar(&f.token, "token", "", "bearer `TOKEN`, if the server takes tokens (default $CRYPTONETS_TOKEN)")
	fs.StringVar(&f.keysDir, "keys-dir", "", "keep the secret key and evaluation keys of each plan in `DIR` and reuse them in later runs")
	fs.IntVar(&f.inFlight, "in-flight", 2, "requests `N` kept in flight")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA certificates `FILE` (PEM) to trust for an https:// server (default: the system's)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate `FILE` (PEM), for a server that asks for one (mutual TLS)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "private key `FILE` (PEM) of --tls-cert")
	fs.BoolVar(&f.insecure, "insecure", false, "accept a plan with Insecure… parameters (tests only: NOT secure)")
	return f
}

// connect opens the connection the flags describe.
func (f *connectFlags) connect(progress func(done, total int)) (*remote.Service, error) {
	if f.server == "" {
		return nil, errs.New(errs.ErrInvalidArgument, "flag --server is required (or set CRYPTONETS_SERVER)")
	}
	if f.token == "" {
		f.token = os.Getenv("CRYPTONETS_TOKEN")
	}
	opts := remote.Options{Token: f.token, KeysDir: f.keysDir, InFlight: f.inFlight, AllowInsecure: f.insecure, Progress: progress}
	if f.tlsCA != "" || f.tlsCert != "" || f.tlsKey != "" {
		tlsCfg, err := remote.TLSConfig(f.tlsCA, f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, err
		}
		opts.TLS = tlsCfg
	}
	return remote.Connect(f.server, opts)
}

// remotePredictReport is the output of remote predict.
type remotePredictReport struct {
	*predictionReport
	Server          string  `json:"server"`
	Model           string  `json:"model"`
	Packing         string  `json:"packing"`
	Params          string  `json:"params"`
	Requests        int     `json:"requests"`
	Retries         int     `json:"retries"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
}

// writeText implements report.
func (r *remotePredictReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "predicted %d records with %s on %s\n", r.Records, r.Model, r.Server)
	t := newTable(w)
	t.row("plan", "%s packing, %s", r.Packing, r.Params)
	t.row("requests", "%d (%d retried)", r.Requests, r.Retries)
	t.row("time", "%.2f s (%.1f records/s)", r.Seconds, r.ImagesPerSecond)
	t.flush()
	r.predictionReport.writeText(w)
}

// runRemotePredict is remote predict.
func runRemotePredict(c *cli, args []string) error {
	fs := c.flags("--server URL --model NAME (--in PATH [--in …] | --images N [--offset K]) [--out labels.csv|.json|.npy] [--packing P] [--expect N] [--json]", `
Client: reads the records of the files given with --in (`+dataset.Formats+`), or
without --in the MNIST test images [K, K+N), prepared as the served model asks;
encrypts them with a fresh secret key (or one saved in --keys-dir); uploads the
evaluation keys once if the plan needs any; sends the records in requests of the
plan's size, several in flight (retrying a busy server or a dropped connection with
backoff); decrypts the results and writes the predictions in input order, as
decrypt does. The secret key never leaves this process.`)
	cf := addConnectFlags(fs)
	name := fs.String("model", "", "the served model's `NAME` (required)")
	inputs := addInputFlags(fs)
	pf := addPredictionFlags(fs)
	packingName := fs.String("packing", "", "`PACKING`: batch, single or auto (default: the server chooses for --expect)")
	expect := fs.Int("expect", 0, "records per request `N` the plan is chosen for (default: all of them)")
	paramsName := fs.String("params", "", "parameter set `NAME` (default: the server's choice)")
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
	prog := newProgress(c.stderr, out.quiet)
	task := prog.task("predict")
	svc, err := cf.connect(func(done, total int) { task.Report("records", done, total) })
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	info, err := svc.Model(ctx, *name)
	if err != nil {
		return err
	}
	set, err := inputs.read(c, model.Shape{C: info.Input.Channels, H: info.Input.Height, W: info.Input.Width})
	if err != nil {
		return err
	}
	start := time.Now()
	plan := remote.Plan{Packing: *packingName, Expect: *expect, Params: *paramsName}
	if plan.Expect == 0 {
		plan.Expect = set.Len()
	}
	sess, err := svc.Session(ctx, *name, plan)
	if err != nil {
		return err
	}
	man := sess.Manifest()
	if man.Insecure {
		c.warn("parameter set %s is NOT secure; use it for tests only", man.Params)
	}
	logits, err := sess.Predict(ctx, set.Records, set.Name)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	preds, err := pf.finish(&predictions{logits: logits, sources: set.Sources, truth: set.Labels})
	if err != nil {
		return err
	}
	return c.emit(out, &remotePredictReport{predictionReport: preds, Server: cf.server, Model: *name,
		Packing: string(man.Packing), Params: man.Params, Requests: (set.Len() + man.ImagesPerBatch - 1) / man.ImagesPerBatch,
		Retries: svc.Retries(), Seconds: round(secs, 3), ImagesPerSecond: round(float64(set.Len())/secs, 1)})
}

// remoteModelsReport is the output of remote models.
type remoteModelsReport struct {
	Server string          `json:"server"`
	Models []httpapi.Model `json:"models"`
}

// writeText implements report.
func (r *remoteModelsReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "models served by %s:\n", r.Server)
	for _, m := range r.Models {
		fmt.Fprintf(w, "%s (%s): input %dx%dx%d in [%g, %g], %d outputs\n", m.Name, m.Model,
			m.Input.Channels, m.Input.Height, m.Input.Width, m.InputRange[0], m.InputRange[1], m.Outputs)
		t := newTable(w)
		for _, p := range m.Packings {
			keys := "no keys"
			if p.NeedsKeys {
				keys = "keys " + byteSize(p.KeyBytes)
			}
			t.row(p.Packing, "%s, %d per request, %s per request, %s, about %.3f s and %s of server memory a request",
				p.Params, p.ImagesPerRequest, byteSize(p.RequestBytes), keys, p.EvaluationSeconds, byteSize(p.EvaluationBytes))
		}
		t.flush()
	}
}

// runRemoteModels is remote models.
func runRemoteModels(c *cli, args []string) error {
	fs := c.flags("--server URL [--json]", `
Lists the models a server hosts: their input, and the plan of each packing (images
per request, request and key sizes, the memory the server budgets for a request).`)
	cf := addConnectFlags(fs)
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	svc, err := cf.connect(nil)
	if err != nil {
		return err
	}
	models, err := svc.Models(context.Background())
	if err != nil {
		return err
	}
	return c.emit(out, &remoteModelsReport{Server: cf.server, Models: models})
}
