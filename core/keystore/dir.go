package keystore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Dir is a Store in a directory: one file per key, ROOT/OWNER/ID.keys (OWNER is
// "_anonymous" for the owner ""), written to a temporary file, synced and renamed into
// place, so that a crash leaves either the whole key or none; files are readable by
// the server's user only. It keeps each owner's usage in memory, counted when it opens.
type Dir struct {
	root string
	mu   sync.Mutex
	// usage is each owner's bytes.
	usage map[string]int64
}

// keySuffix ends the name of every key file; tmpPrefix starts temporary files.
const (
	keySuffix = ".keys"
	tmpPrefix = ".tmp-"
)

// anonymousDir is the directory of the owner "" (owner names start with a letter or
// a digit).
const anonymousDir = "_anonymous"

// OpenDir opens (creating it if needed) a key store in directory root. It removes
// the temporary files an interrupted write left and counts every owner's usage.
func OpenDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	d := &Dir{root: root, usage: map[string]int64{}}
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			return os.Remove(path)
		}
		if !strings.HasSuffix(e.Name(), keySuffix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		owner := filepath.Base(filepath.Dir(path))
		if owner == anonymousDir {
			owner = ""
		}
		d.usage[owner] += info.Size()
		return nil
	})
	if err != nil {
		return nil, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	return d, nil
}

// path returns the file of an owner's key.
func (d *Dir) path(owner string, id ID) (string, error) {
	if err := CheckOwner(owner); err != nil {
		return "", err
	}
	if owner == "" {
		owner = anonymousDir
	}
	return filepath.Join(d.root, owner, id.String()+keySuffix), nil
}

// Put implements Store.
func (d *Dir) Put(_ context.Context, owner string, id ID, data []byte) (bool, error) {
	if Sum(data) != id {
		return false, errs.New(errs.ErrInvalidArgument, "keystore: the data's digest is not %s", id)
	}
	path, err := d.path(owner, id)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return false, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	defer os.Remove(tmp) // a no-op once renamed
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return false, nil // a concurrent Put of the same keys won
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return false, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	d.usage[owner] += int64(len(data))
	return true, nil
}

// writeTemp writes data to a new temporary file in dir, synced, and returns its path.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Get implements Store.
func (d *Dir) Get(_ context.Context, owner string, id ID) ([]byte, error) {
	path, err := d.path(owner, id)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keystore: %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	if Sum(data) != id {
		return nil, errs.New(errs.ErrIntegrity, "keystore: the stored keys %s do not match their digest (damaged file %s)", id, path)
	}
	return data, nil
}

// Size implements Store.
func (d *Dir) Size(_ context.Context, owner string, id ID) (int64, error) {
	path, err := d.path(owner, id)
	if err != nil {
		return 0, err
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("keystore: %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, errs.New(errs.ErrIO, "keystore: %w", err)
	}
	return info.Size(), nil
}

// Delete implements Store.
func (d *Dir) Delete(_ context.Context, owner string, id ID) error {
	path, err := d.path(owner, id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keystore: %s: %w", id, ErrNotFound)
	}
	if err == nil {
		err = os.Remove(path)
	}
	if err != nil {
		return errs.New(errs.ErrIO, "keystore: %w", err)
	}
	d.usage[owner] -= info.Size()
	return nil
}

// Usage implements Store.
func (d *Dir) Usage(_ context.Context, owner string) (int64, error) {
	if err := CheckOwner(owner); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.usage[owner], nil
}

// Close implements Store; a Dir holds nothing open.
func (d *Dir) Close() error { return nil }
