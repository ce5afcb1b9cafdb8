// Package keystore keeps clients' evaluation keys for cryptonets serve, content-
// addressed: sealed keys (package wire) are stored under their SHA-256 digest, their
// id, and every read is checked against it. Keys belong to an owner (the name of the
// token that uploaded them; "" when the service takes no tokens), and one owner
// cannot reach another's keys. Store is what a server needs of a key store; Dir is
// the embedded one, a directory written atomically; Redis the one several servers
// share.
package keystore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"

	"github.com/cryptonets/cryptonets/core/errs"
)

// ID identifies sealed evaluation keys: the SHA-256 digest of their bytes.
type ID [32]byte

// Sum returns the id of sealed keys.
func Sum(data []byte) ID { return sha256.Sum256(data) }

// String returns the id in hex, as the API writes it.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID reads an id written by String.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, errs.New(errs.ErrInvalidArgument, "keystore: a key id is %d hex digits, got %d characters", 2*len(id), len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, errs.New(errs.ErrInvalidArgument, "keystore: a key id is hex: %w", err)
	}
	return id, nil
}

// ErrNotFound says that an owner has no keys of that id. Errors that say so wrap it
// (errors.Is); its class is errs.ErrInvalidArgument.
var ErrNotFound = errs.New(errs.ErrInvalidArgument, "no evaluation keys of that id")

// Store keeps sealed evaluation keys by owner and id. Implementations are safe for
// concurrent use; they keep nothing but the bytes (no decoded key, no secret), so
// every server that shares a store can serve every key in it.
type Store interface {
	// Put stores data, sealed keys whose id is id, for owner. Storing keys the owner
	// already has changes nothing and returns created false.
	Put(ctx context.Context, owner string, id ID, data []byte) (created bool, err error)
	// Get returns the owner's keys of that id after checking them against it: a
	// mismatch is an errs.ErrIntegrity error, a missing key wraps ErrNotFound.
	Get(ctx context.Context, owner string, id ID) ([]byte, error)
	// Size returns the length of the owner's keys of that id (ErrNotFound if none).
	Size(ctx context.Context, owner string, id ID) (int64, error)
	// Delete removes the owner's keys of that id (ErrNotFound if none).
	Delete(ctx context.Context, owner string, id ID) error
	// Usage returns the bytes of all the owner's keys.
	Usage(ctx context.Context, owner string) (int64, error)
	// Close releases the store.
	Close() error
}

// ownerName is what an owner's name may be: what a tokens file may call a token.
var ownerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckOwner reports whether name can name an owner: "" (anonymous) or 1 to 64
// letters, digits, '.', '_' and '-', starting with a letter or a digit.
func CheckOwner(name string) error {
	if name != "" && !ownerName.MatchString(name) {
		return errs.New(errs.ErrInvalidArgument, "keystore: owner %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}
