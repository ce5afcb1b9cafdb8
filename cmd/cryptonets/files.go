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
// into place) with the given mode, through write. A failure to write the file is an
// I/O error naming it; an error of write itself is returned as it is.
func writeFile(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	ioError := func(err error) error { return errs.New(errs.ErrIO, "write %s: %w", path, err) }
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return ioError(err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return ioError(err)
	}
	fw := &fileWriter{w: tmp}
	bw := bufio.NewWriterSize(fw, 1<<20)
	if err = write(bw); err != nil {
		if fw.err != nil {
			return ioError(fw.err)
		}
		return err
	}
	for _, step := range []func() error{bw.Flush, tmp.Sync, tmp.Close, func() error { return os.Rename(tmp.Name(), path) }} {
		if err = step(); err != nil {
			return ioError(err)
		}
	}
	return nil
}

// fileWriter remembers the first error of its writer, to tell a failing file from a
// failing producer.
type fileWriter struct {
	w   io.Writer
	err error
}

func (f *fileWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// writeOutput writes, through write, the file at path (atomically, as writeFile) or,
// for "-", standard output; the command's report then goes to stderr.
func (c *cli) writeOutput(path string, perm os.FileMode, write func(w io.Writer) error) error {
	if path != "-" {
		return writeFile(path, perm, write)
	}
	c.stdoutIsData = true
	bw := bufio.NewWriterSize(c.stdout, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return errs.New(errs.ErrIO, "write standard output: %w", err)
	}
	return nil
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

// readRequests reads the requests of an upload file, reading only its headers.
func readRequests(path string) ([]wire.Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "read request: %w", err)
	}
	defer f.Close()
	reqs, err := wire.ReadRequests(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reqs, nil
}
