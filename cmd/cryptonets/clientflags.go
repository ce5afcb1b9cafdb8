package main

import (
	"flag"

	"github.com/cryptonets/cryptonets/core/client"
)

// manifestFlags are the client commands' --manifest, --insecure and
// --max-eval-key-bytes.
type manifestFlags struct {
	path        string
	insecure    bool
	maxKeyBytes int64
}

// addManifestFlags registers --manifest, --insecure and --max-eval-key-bytes on fs.
func addManifestFlags(fs *flag.FlagSet) *manifestFlags {
	f := &manifestFlags{}
	fs.StringVar(&f.path, "manifest", "", "the model's public manifest (required)")
	fs.BoolVar(&f.insecure, "insecure", false, "accept a manifest with Insecure… parameters (tests only: NOT secure)")
	fs.Int64Var(&f.maxKeyBytes, "max-eval-key-bytes", client.DefaultMaxEvaluationKeyBytes,
		"refuse a manifest whose evaluation keys would take more than `N` bytes")
	return f
}

// clientOptions returns the client options the flags ask for.
func (f *manifestFlags) clientOptions() []client.Option {
	opts := []client.Option{client.MaxEvaluationKeyBytes(f.maxKeyBytes)}
	if f.insecure {
		opts = append(opts, client.AllowInsecure())
	}
	return opts
}
