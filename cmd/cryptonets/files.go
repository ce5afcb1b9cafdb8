package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/wire"
)

// readFile reads a whole file; what names it in errors ("batch file").
func readFile(path, what string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "read %s: %w", what, err)
	}
	return data, nil
}

// writeFile writes a file atomically (a temporary file in the same folder, renamed
// into place) with the given mode, through write.
func writeFile(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return errs.New(errs.ErrIO, "write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = errs.New(errs.ErrIO, "write %s: %w", path, err)
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeBytes writes data to path atomically with the given mode.
func writeBytes(path string, perm os.FileMode, data []byte) error {
	return writeFile(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// readManifest reads and validates a sealed manifest file.
func readManifest(path string) (*manifest.Manifest, error) {
	data, err := readFile(path, "manifest")
	if err != nil {
		return nil, err
	}
	m, err := wire.DecodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// fileSize returns the size of a file, or 0 if it cannot be read.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readRequest reads the request of an encrypted batch file from its first bytes.
func readRequest(path string) (wire.Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return wire.Request{}, errs.New(errs.ErrIO, "read request: %w", err)
	}
	defer f.Close()
	prefix := make([]byte, wire.RequestPrefix)
	if _, err := io.ReadFull(f, prefix); err != nil {
		return wire.Request{}, errs.New(errs.ErrMalformed, "%s: not an encrypted batch (%v)", path, err)
	}
	req, err := wire.RequestOf(prefix)
	if err != nil {
		return wire.Request{}, fmt.Errorf("%s: %w", path, err)
	}
	return req, nil
}
