package service

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cryptonets/cryptonets/core/keystore"
)

// What a store shared by several servers (keystore.Redis) changes: keys one server
// received are loaded by the others, a store that cannot be reached is a 503 for
// the keys a server has not cached (statusOf), and keys deleted through one server
// must not go on being served from another's cache.

// storeCheckTimeout bounds the look-up that confirms cached keys are still stored.
const storeCheckTimeout = 250 * time.Millisecond

// checkStored confirms that cached keys are still in the store, so that keys
// deleted through another server are answered 404 (and leave this cache) rather than
// served. A store that does not answer in time does not stop cached keys: their
// bytes were checked against their id when they were loaded.
func (s *Service) checkStored(ctx context.Context, owner string, id keystore.ID) error {
	ctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	_, err := s.cfg.Store.Size(ctx, owner, id)
	if errors.Is(err, keystore.ErrNotFound) {
		s.keys.remove(owner, id)
		return err
	}
	return nil
}

// pinger is a store that can say whether it answers (keystore.Redis).
type pinger interface {
	Ping(ctx context.Context) error
}

// storeUpMetric exports whether a store that can be pinged answers, as
// cryptonets_key_store_up; nil for a store that cannot.
func storeUpMetric(store keystore.Store) prometheus.Collector {
	p, ok := store.(pinger)
	if !ok {
		return nil
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cryptonets_key_store_up",
		Help: "1 if the shared key store answered a ping within a second when scraped, else 0."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if p.Ping(ctx) != nil {
			return 0
		}
		return 1
	})
}
