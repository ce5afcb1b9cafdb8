package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/version"
	"github.com/cryptonets/cryptonets/core/wire"
)

// versionReport is the output of version.
type versionReport struct {
	Version         string `json:"version"`
	Go              string `json:"go"`
	Lattigo         string `json:"lattigo"`
	EnvelopeVersion int    `json:"envelope_version"`
	ModelFile       int    `json:"model_file_version"`
}

// writeText implements report.
func (r *versionReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "cryptonets %s (%s, lattigo %s, envelope v%d, model file v%d)\n",
		r.Version, r.Go, r.Lattigo, r.EnvelopeVersion, r.ModelFile)
}

// runVersion is the version command.
func runVersion(c *cli, args []string) error {
	fs := c.flags("[--json]", "Prints the version of the command, of Go and Lattigo, and of the file formats.")
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	rep := &versionReport{Version: version.Version, Go: runtime.Version(), Lattigo: "unknown",
		EnvelopeVersion: wire.Version, ModelFile: model.FileVersion}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/tuneinsight/lattigo/v5" {
				rep.Lattigo = d.Version
			}
		}
	}
	return c.emit(out, rep)
}
