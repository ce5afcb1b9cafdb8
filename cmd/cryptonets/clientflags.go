package main

import (
	"flag"

	"github.com/cryptonets/cryptonets/core/client"
)

// manifestFlags are the client commands' --manifest and --insecure.
type manifestFlags struct {
	path     string
	insecure bool
}

// addManifestFlags registers --manifest and --insecure on fs.
func addManifestFlags(fs *flag.FlagSet) *manifestFlags {
	f := &manifestFlags{}
	fs.StringVar(&f.path, "manifest", "", "the model's public manifest (required)")
	fs.BoolVar(&f.insecure, "insecure", false, "accept a manifest with Insecure… parameters (tests only: NOT secure)")
	return f
}

// clientOptions returns the client options the flags ask for.
func (f *manifestFlags) clientOptions() []client.Option {
	if f.insecure {
		return []client.Option{client.AllowInsecure()}
	}
	return nil
}
