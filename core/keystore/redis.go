package keystore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cryptonets/cryptonets/core/errs"
)

// ErrUnavailable says that a shared store cannot be reached now (down, restarting,
// loading its data): the same request may succeed later. Errors that say so wrap it
// (errors.Is); its class is errs.ErrIO.
var ErrUnavailable = errs.New(errs.ErrIO, "the key store is unavailable")

// Redis is a Store in Redis, shared by every server that opens the same database:
// keys one server stored are served by all. Each key is a hash
// cryptonets:keys:OWNER:ID (its length and chunk size) and its bytes in chunks
// cryptonets:keys:OWNER:ID:0, :1, … of RedisChunk bytes (a Redis string holds at
// most 512 MB; keys reach 1 GB), and cryptonets:usage:OWNER counts the owner's
// bytes. A Put writes the chunks, with an expiry so that an interrupted upload leaves
// nothing for long, then commits the hash and the usage in one script that also
// makes the chunks permanent; a Delete removes all in one script. Content-addressed
// ids make replays and races of the same upload harmless. It needs one Redis primary
// (not Redis Cluster: a script touches a key's chunks and its owner's usage
// together) that does not evict keys (maxmemory-policy noeviction).
type Redis struct {
	client *redis.Client
}

// RedisChunk is the size of the chunks a Redis store splits keys into.
const RedisChunk = 8 << 20

// chunkTTL is how long the chunks of an upload live before it commits them.
const chunkTTL = time.Hour

// putAttempts bounds the retries of a Put whose chunks a concurrent Delete removed.
const putAttempts = 3

// OpenRedis opens a Redis store at rawURL: redis://[user:password@]host[:port][/db],
// rediss:// for TLS or unix:///path/to/socket, with go-redis's options in the query
// (dial_timeout=, read_timeout=, max_retries=, pool_size=, …). A connection is tried
// twice, each time for at most 2 s (unless dial_timeout says otherwise), and a failed
// command once more (unless max_retries says otherwise), so that a store that is down
// makes requests fail fast (ErrUnavailable). It connects lazily: Ping checks that the
// store is there.
func OpenRedis(rawURL string) (*Redis, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, errs.New(errs.ErrInvalidArgument, "keystore: %q is not a Redis URL (redis://host:port/db, rediss://… or unix:///path): %w", rawURL, err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.DialerRetries == 0 {
		opts.DialerRetries = 2
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	return &Redis{client: redis.NewClient(opts)}, nil
}

// IsRedisURL reports whether s names a Redis store (redis://, rediss:// or unix://)
// rather than a directory.
func IsRedisURL(s string) bool {
	for _, scheme := range []string{"redis://", "rediss://", "unix://"} {
		if strings.HasPrefix(s, scheme) {
			return true
		}
	}
	return false
}

// Ping checks that the store answers.
func (r *Redis) Ping(ctx context.Context) error {
	return r.fail(ctx, r.client.Ping(ctx).Err())
}

// names returns the hash of an owner's key and the owner's usage counter.
func redisNames(owner string, id ID) (meta, usage string, err error) {
	if err := CheckOwner(owner); err != nil {
		return "", "", err
	}
	if owner == "" {
		owner = anonymousDir
	}
	return "cryptonets:keys:" + owner + ":" + id.String(), "cryptonets:usage:" + owner, nil
}

// chunkNames returns the names of the chunks of a key of n bytes.
func chunkNames(meta string, n, chunk int64) []string {
	out := make([]string, (n+chunk-1)/chunk)
	for i := range out {
		out[i] = meta + ":" + strconv.Itoa(i)
	}
	return out
}

// commitScript makes an upload's chunks (KEYS[3:]) permanent and, unless the key's
// hash (KEYS[1]) exists, writes it (ARGV: length, chunk size) and adds the length to
// the owner's usage (KEYS[2]). It returns 1 if it created the key, 0 if the key was
// there, -1 if a chunk is missing (a concurrent Delete removed it).
var commitScript = redis.NewScript(`
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then return -1 end
end
for i = 3, #KEYS do redis.call('PERSIST', KEYS[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'bytes', ARGV[1], 'chunk', ARGV[2])
redis.call('INCRBY', KEYS[2], ARGV[1])
return 1
`)

// deleteScript removes a key's hash (KEYS[1]) and chunks (KEYS[3:]) and subtracts its
// length (ARGV[1]) from the owner's usage (KEYS[2]), if the hash still says that
// length; it returns 1 if it deleted, 0 if the hash is gone or changed.
var deleteScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'bytes') ~= ARGV[1] then return 0 end
redis.call('DEL', unpack(KEYS, 3))
redis.call('DEL', KEYS[1])
redis.call('DECRBY', KEYS[2], ARGV[1])
return 1
`)

// Put implements Store.
func (r *Redis) Put(ctx context.Context, owner string, id ID, data []byte) (bool, error) {
	if Sum(data) != id {
		return false, errs.New(errs.ErrInvalidArgument, "keystore: the data's digest is not %s", id)
	}
	if len(data) == 0 {
		return false, errs.New(errs.ErrInvalidArgument, "keystore: no keys to store")
	}
	meta, usage, err := redisNames(owner, id)
	if err != nil {
		return false, err
	}
	n, err := r.client.Exists(ctx, meta).Result()
	if err != nil {
		return false, r.fail(ctx, err)
	}
	if n == 1 {
		return false, nil
	}
	chunks := chunkNames(meta, int64(len(data)), RedisChunk)
	for range putAttempts {
		for i, name := range chunks {
			part := data[i*RedisChunk : min((i+1)*RedisChunk, len(data))]
			// NX: a chunk already there holds the same bytes, and a committed one
			// must not get an expiry again.
			if err := r.client.SetArgs(ctx, name, part, redis.SetArgs{Mode: "NX", TTL: chunkTTL}).Err(); err != nil && !errors.Is(err, redis.Nil) {
				return false, r.fail(ctx, err)
			}
		}
		keys := append([]string{meta, usage}, chunks...)
		created, err := commitScript.Run(ctx, r.client, keys, len(data), RedisChunk).Int()
		if err != nil {
			return false, r.fail(ctx, err)
		}
		if created >= 0 {
			return created == 1, nil
		}
	}
	return false, errs.New(errs.ErrIO, "keystore: keys %s were deleted %d times while being stored", id, putAttempts)
}

// layout reads the length and chunk size of an owner's key.
func (r *Redis) layout(ctx context.Context, owner string, id ID) (meta, usage string, n, chunk int64, err error) {
	meta, usage, err = redisNames(owner, id)
	if err != nil {
		return "", "", 0, 0, err
	}
	vals, err := r.client.HMGet(ctx, meta, "bytes", "chunk").Result()
	if err != nil {
		return "", "", 0, 0, r.fail(ctx, err)
	}
	if vals[0] == nil {
		return "", "", 0, 0, fmt.Errorf("keystore: %s: %w", id, ErrNotFound)
	}
	n, errN := strconv.ParseInt(fmt.Sprint(vals[0]), 10, 64)
	chunk, errC := strconv.ParseInt(fmt.Sprint(vals[1]), 10, 64)
	if errN != nil || errC != nil || n < 1 || chunk < 1 || chunk > 512<<20 {
		return "", "", 0, 0, errs.New(errs.ErrIntegrity, "keystore: the Redis hash %s is damaged (bytes %v, chunk %v)", meta, vals[0], vals[1])
	}
	return meta, usage, n, chunk, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, owner string, id ID) ([]byte, error) {
	meta, _, n, chunk, err := r.layout(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, n)
	for _, name := range chunkNames(meta, n, chunk) {
		part, err := r.client.Get(ctx, name).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, errs.New(errs.ErrIntegrity, "keystore: the stored keys %s lack their chunk %s", id, name)
		}
		if err != nil {
			return nil, r.fail(ctx, err)
		}
		if int64(len(data)+len(part)) > n {
			break
		}
		data = append(data, part...)
	}
	if int64(len(data)) != n || Sum(data) != id {
		return nil, errs.New(errs.ErrIntegrity, "keystore: the stored keys %s do not match their digest (damaged Redis key %s)", id, meta)
	}
	return data, nil
}

// Size implements Store.
func (r *Redis) Size(ctx context.Context, owner string, id ID) (int64, error) {
	_, _, n, _, err := r.layout(ctx, owner, id)
	return n, err
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, owner string, id ID) error {
	meta, usage, n, chunk, err := r.layout(ctx, owner, id)
	if err != nil {
		return err
	}
	keys := append([]string{meta, usage}, chunkNames(meta, n, chunk)...)
	deleted, err := deleteScript.Run(ctx, r.client, keys, n).Int()
	if err != nil {
		return r.fail(ctx, err)
	}
	if deleted == 0 {
		return fmt.Errorf("keystore: %s: %w", id, ErrNotFound) // deleted meanwhile
	}
	return nil
}

// Usage implements Store.
func (r *Redis) Usage(ctx context.Context, owner string) (int64, error) {
	_, usage, err := redisNames(owner, ID{})
	if err != nil {
		return 0, err
	}
	n, err := r.client.Get(ctx, usage).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, r.fail(ctx, err)
	}
	return n, nil
}

// Close implements Store: it closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

// fail classifies an error of the Redis client: the request's own end (ErrLimit), a
// store that cannot serve now (ErrUnavailable: no connection, loading, read-only, a
// failover), a full store (ErrLimit), anything else ErrIO.
func (r *Redis) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return errs.New(errs.ErrLimit, "keystore: %w", ctx.Err())
	}
	var reply redis.Error
	if !errors.As(err, &reply) {
		return fmt.Errorf("keystore: %w: %w", ErrUnavailable, err)
	}
	msg := reply.Error()
	for _, prefix := range []string{"LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "BUSY"} {
		if strings.HasPrefix(msg, prefix) {
			return fmt.Errorf("keystore: %w: %w", ErrUnavailable, err)
		}
	}
	if strings.HasPrefix(msg, "OOM") {
		return errs.New(errs.ErrLimit, "keystore: Redis is full (its maxmemory): %w", err)
	}
	return errs.New(errs.ErrIO, "keystore: Redis: %w", err)
}
