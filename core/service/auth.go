package service

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/keystore"
)

// Quota bounds what one token (or, without tokens, every client together) may do.
// Zero means no bound.
type Quota struct {
	// KeyBytes bounds the bytes of evaluation keys stored for the token.
	KeyBytes int64
	// InFlight bounds the token's requests being served at once.
	InFlight int
}

// Token is a client the server knows: its name (the owner of the keys it uploads,
// and what logs and metrics call it) and its quota.
type Token struct {
	Name  string
	Quota Quota
}

// Tokens are the bearer tokens a server accepts. Only their SHA-256 digests are
// kept.
type Tokens struct {
	byDigest map[[32]byte]Token
}

// minTokenLength is the shortest token a tokens file may hold.
const minTokenLength = 16

// LoadTokens reads a tokens file (see ParseTokens).
func LoadTokens(path string, defaults Quota) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "tokens: %w", err)
	}
	defer f.Close()
	t, err := ParseTokens(f, defaults)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTokens reads tokens, one per line: a name (see keystore.CheckOwner), the
// token (at least 16 characters), and optionally key-bytes=SIZE and in-flight=N,
// which override the defaults. Blank lines and lines starting with # are skipped.
//
//	alice  4f1c0e9d7a2b6c3e8f5a1d0b  key-bytes=2GiB in-flight=4
func ParseTokens(r io.Reader, defaults Quota) (*Tokens, error) {
	t := &Tokens{byDigest: map[[32]byte]Token{}}
	names := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		bad := func(format string, args ...any) error {
			return errs.New(errs.ErrInvalidArgument, "tokens: line %d: "+format, append([]any{n}, args...)...)
		}
		if len(fields) < 2 {
			return nil, bad("want NAME TOKEN [key-bytes=SIZE] [in-flight=N]")
		}
		name, secret := fields[0], fields[1]
		if name == "" || keystore.CheckOwner(name) != nil {
			return nil, bad("%q is not a name: 1 to 64 letters, digits, '.', '_' or '-'", name)
		}
		if names[name] {
			return nil, bad("name %q appears twice", name)
		}
		if len(secret) < minTokenLength {
			return nil, bad("the token of %s is shorter than %d characters", name, minTokenLength)
		}
		tok := Token{Name: name, Quota: defaults}
		for _, opt := range fields[2:] {
			key, value, _ := strings.Cut(opt, "=")
			var err error
			switch key {
			case "key-bytes":
				tok.Quota.KeyBytes, err = ParseSize(value)
			case "in-flight":
				tok.Quota.InFlight, err = strconv.Atoi(value)
				if err == nil && tok.Quota.InFlight < 0 {
					err = fmt.Errorf("negative")
				}
			default:
				err = fmt.Errorf("unknown option (want key-bytes=SIZE or in-flight=N)")
			}
			if err != nil {
				return nil, bad("%s: %v", opt, err)
			}
		}
		digest := sha256.Sum256([]byte(secret))
		if _, dup := t.byDigest[digest]; dup {
			return nil, bad("the token of %s is another name's token", name)
		}
		t.byDigest[digest] = tok
		names[name] = true
	}
	if err := sc.Err(); err != nil {
		return nil, errs.New(errs.ErrIO, "tokens: %w", err)
	}
	if len(t.byDigest) == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "tokens: no token")
	}
	return t, nil
}

// lookup returns the token a request's bearer token names.
func (t *Tokens) lookup(secret string) (Token, bool) {
	tok, ok := t.byDigest[sha256.Sum256([]byte(secret))]
	return tok, ok
}

// errUnauthorized is the class of requests without a valid token.
var errUnauthorized = errs.New(errs.ErrInvalidArgument, "this server needs a bearer token (Authorization: Bearer TOKEN) that it knows")

// authorize returns the token of a request: the anonymous one if the server takes
// no tokens, else the one its Authorization header names (401 otherwise).
func (s *Service) authorize(r *http.Request) (Token, error) {
	if s.cfg.Tokens == nil {
		return Token{Quota: s.cfg.Quota}, nil
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Token{}, withStatus(http.StatusUnauthorized, errUnauthorized)
	}
	tok, ok := s.cfg.Tokens.lookup(strings.TrimSpace(secret))
	if !ok {
		return Token{}, withStatus(http.StatusUnauthorized, errUnauthorized)
	}
	return tok, nil
}

// inFlight counts each token's requests being served, against its quota.
type inFlight struct {
	mu sync.Mutex
	n  map[string]int
}

// enter counts a request of tok, or refuses it (429) if the token's quota is full;
// the returned function ends it.
func (f *inFlight) enter(tok Token) (leave func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := tok.Quota.InFlight; q > 0 && f.n[tok.Name] >= q {
		return nil, withStatus(http.StatusTooManyRequests, errs.New(errs.ErrLimit, "%d requests of this token are already being served (its quota)", q))
	}
	f.n[tok.Name]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.n[tok.Name]--; f.n[tok.Name] == 0 {
			delete(f.n, tok.Name)
		}
	}, nil
}
