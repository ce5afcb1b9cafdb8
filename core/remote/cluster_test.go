package remote_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/remote"
)

// The cluster checks run against the test cluster of scripts/test-cluster.sh
// (make test-cluster): Redis, three cryptonets serve replicas sharing it, and
// HAProxy in front. The script sets these variables; without them the checks are
// skipped.
const (
	envURL      = "CRYPTONETS_CLUSTER_URL"      // HAProxy
	envReplicas = "CRYPTONETS_CLUSTER_REPLICAS" // the replicas r1,r2,r3, comma-separated
	envCtl      = "CRYPTONETS_CLUSTER_CTL"      // the script: ctl kill|stop|start r1|r2|r3|redis
)

// The plans of the checks: 128-bit single-image packing for the keys shared
// through Redis, and the fast, NOT secure plans where the checks are about
// behaviour.
var (
	secureSingle   = remote.Plan{Packing: "single", Expect: 1}
	insecureSingle = remote.Plan{Packing: "single", Params: "InsecureN12QP215S", Expect: 1}
	insecureBatch  = remote.Plan{Packing: "batch", Params: "InsecureN11QP215"}
)

// cluster is the test cluster.
type cluster struct {
	t        *testing.T
	lb       string
	replicas []string // r1, r2, r3
	ctlPath  string
	model    *model.Model
	ref      *model.Reference
	images   [][]float64
	labels   []int // the plaintext model's
}

func newCluster(t *testing.T) *cluster {
	lb := os.Getenv(envURL)
	if lb == "" {
		t.Skipf("no test cluster (%s): scripts/test-cluster.sh runs these checks", envURL)
	}
	c := &cluster{t: t, lb: lb, replicas: strings.Split(os.Getenv(envReplicas), ","), ctlPath: os.Getenv(envCtl)}
	if len(c.replicas) != 3 || c.ctlPath == "" {
		t.Fatalf("%s=%q, %s=%q: want three replicas and the script", envReplicas, os.Getenv(envReplicas), envCtl, c.ctlPath)
	}
	m, err := model.Load("../../models/mnist/mnist_cryptonets.cnm")
	if err != nil {
		t.Fatal(err)
	}
	if c.ref, err = model.NewReference(m); err != nil {
		t.Fatal(err)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.model, c.images = m, set.Records
	c.labels = make([]int, len(c.images))
	for i, img := range c.images {
		logits, err := c.ref.Forward(img)
		if err != nil {
			t.Fatal(err)
		}
		c.labels[i] = model.Argmax(logits)
	}
	return c
}

// ctl does something to a process of the cluster: kill (SIGKILL), stop (SIGTERM)
// or start r1, r2, r3 or redis.
func (c *cluster) ctl(action, name string) {
	c.t.Helper()
	start := time.Now()
	out, err := exec.Command(c.ctlPath, "ctl", action, name).CombinedOutput()
	if err != nil {
		c.t.Fatalf("ctl %s %s: %v\n%s", action, name, err, out)
	}
	c.t.Logf("%s %s (%.1f s)", action, name, time.Since(start).Seconds())
}

// connect opens a client of url.
func (c *cluster) connect(url string, opts remote.Options) *remote.Service {
	c.t.Helper()
	opts.AllowInsecure = true
	svc, err := remote.Connect(url, opts)
	if err != nil {
		c.t.Fatal(err)
	}
	return svc
}

// session opens the session of a plan on url.
func (c *cluster) session(url string, plan remote.Plan, opts remote.Options) *remote.Session {
	c.t.Helper()
	sess, err := c.connect(url, opts).Session(context.Background(), "mnist", plan)
	if err != nil {
		c.t.Fatalf("session on %s: %v", url, err)
	}
	return sess
}

// check compares the labels of logits for images lo.. with the plaintext model's.
func (c *cluster) check(what string, lo int, logits [][]float64) error {
	for i, l := range logits {
		if got, want := model.Argmax(l), c.labels[lo+i]; got != want {
			return fmt.Errorf("%s: image %d: label %d, the plaintext model says %d", what, lo+i, got, want)
		}
	}
	return nil
}

// predict predicts images lo..hi through sess and checks the labels.
func (c *cluster) predict(what string, sess *remote.Session, lo, hi int) {
	c.t.Helper()
	logits, err := sess.Predict(context.Background(), c.images[lo:hi], nil)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	if err := c.check(what, lo, logits); err != nil {
		c.t.Error(err)
	}
}

// metric returns the sum of a metric's series on a replica whose labels include
// every one of labels (`route="PUT /v1/keys"`, …).
func (c *cluster) metric(url, name string, labels ...string) float64 {
	c.t.Helper()
	resp, err := http.Get(url + httpapi.PathMetrics)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		cut := strings.LastIndexByte(line, ' ') // labels may hold spaces: the value is last
		if cut < 0 {
			continue
		}
		series, value := line[:cut], line[cut+1:]
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		matches := true
		for _, l := range labels {
			matches = matches && strings.Contains(series, l)
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil && matches {
			sum += v
		}
	}
	return sum
}

// predictions returns the predictions a replica answered with 200; uploads the
// uploads of keys it received.
func (c *cluster) predictions(url string) float64 {
	return c.metric(url, "cryptonets_requests_total", `route="POST /v1/models/{name}/predict"`, `code="200"`)
}

func (c *cluster) uploads(url string) float64 {
	return c.metric(url, "cryptonets_requests_total", `route="PUT /v1/keys"`)
}

// TestCluster runs the cluster checks in order: they share the cluster.
func TestCluster(t *testing.T) {
	c := newCluster(t)
	for _, check := range []struct {
		name string
		run  func(*cluster)
	}{
		{"KeysUploadedThroughOneReplicaServeOnAll", (*cluster).keysShared},
		{"ReplicaKilledUnderLoad", (*cluster).replicaKilled},
		{"RedisRestartedMidRun", (*cluster).redisRestarted},
		{"OneJobAcrossReplicas", (*cluster).oneJob},
	} {
		t.Run(check.name, func(t *testing.T) {
			sub := *c
			sub.t = t
			check.run(&sub)
		})
	}
}

// keysShared: 128-bit keys uploaded through r1 serve predictions on r2 and r3
// (which load them from Redis, never receiving an upload), requests through
// HAProxy reach all three, and a replica started after the upload serves them.
func (c *cluster) keysShared() {
	keys := c.t.TempDir() // one client's keys, on every replica
	r1, r2, r3 := c.replicas[0], c.replicas[1], c.replicas[2]
	uploads := []float64{c.uploads(r1), c.uploads(r2), c.uploads(r3)}
	c.predict("r1", c.session(r1, secureSingle, remote.Options{KeysDir: keys}), 0, 2)
	if got := c.uploads(r1) - uploads[0]; got != 1 {
		c.t.Fatalf("r1 received %v uploads of keys, want 1", got)
	}
	for i, r := range []string{r2, r3} {
		c.predict(fmt.Sprintf("r%d", i+2), c.session(r, secureSingle, remote.Options{KeysDir: keys}), 2, 4)
		if got := c.uploads(r) - uploads[i+1]; got != 0 {
			c.t.Errorf("r%d received %v uploads of keys, want none: the keys are in Redis", i+2, got)
		}
	}

	before := []float64{c.predictions(r1), c.predictions(r2), c.predictions(r3)}
	c.predict("through HAProxy", c.session(c.lb, secureSingle, remote.Options{KeysDir: keys, InFlight: 6}), 4, 40)
	for i, r := range c.replicas {
		if n := c.predictions(r) - before[i]; n == 0 {
			c.t.Errorf("HAProxy sent no request of 36 to r%d", i+1)
		} else {
			c.t.Logf("r%d answered %v of 36 requests through HAProxy", i+1, n)
		}
	}

	c.ctl("kill", "r3")
	c.ctl("start", "r3")
	if n := c.metric(r3, "cryptonets_keys_cached"); n != 0 {
		c.t.Fatalf("a new r3 has %v keys cached", n)
	}
	c.predict("a replica started after the upload", c.session(r3, secureSingle, remote.Options{KeysDir: keys}), 40, 42)
	if c.uploads(r3) != 0 || c.metric(r3, "cryptonets_keys_cached") != 1 {
		c.t.Errorf("the new r3: %v uploads, %v keys cached (want 0 and 1)", c.uploads(r3), c.metric(r3, "cryptonets_keys_cached"))
	}
}

// replicaKilled: 16 clients send 20 requests each (single-image packing, keys in
// Redis) through HAProxy; when a quarter are answered, r2 is killed with SIGKILL,
// then started again. Every request must be answered with the plaintext model's
// labels; the clients' retries are reported.
func (c *cluster) replicaKilled() {
	const clients, requests = 16, 20
	keys := c.t.TempDir()
	c.session(c.lb, insecureSingle, remote.Options{KeysDir: keys}) // the single-image clients' keys, made once
	var answered, failed atomic.Int64
	services := make([]*remote.Service, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for k := range clients {
		services[k] = c.connect(c.lb, remote.Options{KeysDir: keys})
		wg.Go(func() {
			sess, err := services[k].Session(context.Background(), "mnist", insecureSingle)
			if err != nil {
				c.t.Errorf("client %d: %v", k, err)
				failed.Add(requests)
				return
			}
			for j := range requests {
				lo := k*requests + j
				logits, err := sess.Predict(context.Background(), c.images[lo:lo+1], nil)
				if err == nil {
					err = c.check(fmt.Sprintf("client %d, request %d", k, j), lo, logits)
				}
				if err != nil {
					c.t.Error(err)
					failed.Add(1)
					continue
				}
				answered.Add(1)
			}
		})
	}
	for answered.Load()+failed.Load() < clients*requests/4 {
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Logf("%d of %d requests answered: killing r2", answered.Load(), clients*requests)
	c.ctl("kill", "r2")
	time.Sleep(time.Second)
	c.ctl("start", "r2")
	restarted := answered.Load()
	r2Before := c.predictions(c.replicas[1])
	wg.Wait()
	retries := 0
	for _, s := range services {
		retries += s.Retries()
	}
	fmt.Printf("cluster: %d clients x %d requests through HAProxy, r2 killed (SIGKILL) after %d and restarted: %d answered with the plaintext model's labels, %d failed, %d client retries, r2 answered %v after its restart (%.1f s)\n",
		clients, requests, clients*requests/4, answered.Load(), failed.Load(), retries, c.predictions(c.replicas[1])-r2Before, time.Since(start).Seconds())
	if answered.Load() != clients*requests {
		c.t.Errorf("%d of %d requests answered", answered.Load(), clients*requests)
	}
	if retries == 0 {
		c.t.Error("no client retried: the kill did not cut a request in flight (the check did not test what it should)")
	}
	if restarted == clients*requests {
		c.t.Log("every request was answered before r2 was back")
	}
}

// redisRestarted: Redis is stopped and started again while a client whose keys
// every replica has cached sends requests through HAProxy: none of them fails. A
// client whose keys r2 has not cached gets a 503 that says the key store is
// unavailable, and succeeds once Redis is back.
func (c *cluster) redisRestarted() {
	cachedKeys, uncachedKeys := c.t.TempDir(), c.t.TempDir()
	for i, r := range c.replicas { // the keys cached on every replica
		c.predict(fmt.Sprintf("warming r%d", i+1), c.session(r, insecureSingle, remote.Options{KeysDir: cachedKeys}), 100+i, 101+i)
	}
	cached := c.session(c.lb, insecureSingle, remote.Options{KeysDir: cachedKeys, InFlight: 2})
	c.session(c.replicas[0], insecureSingle, remote.Options{KeysDir: uncachedKeys}) // uploaded through r1 only
	once := c.session(c.replicas[1], insecureSingle, remote.Options{KeysDir: uncachedKeys, Attempts: 1})
	patient := c.session(c.replicas[1], insecureSingle, remote.Options{KeysDir: uncachedKeys})

	stop := make(chan struct{})
	var sent, failures atomic.Int64
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				lo := 200 + (2*i+g)%1000
				if logits, err := cached.Predict(context.Background(), c.images[lo:lo+1], nil); err != nil {
					c.t.Errorf("cached keys during the Redis restart: %v", err)
					failures.Add(1)
				} else if err := c.check("cached keys", lo, logits); err != nil {
					c.t.Error(err)
					failures.Add(1)
				}
				sent.Add(1)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	c.ctl("stop", "redis")
	atStop := sent.Load()
	_, err := once.Predict(context.Background(), c.images[300:301], nil)
	if httpapi.StatusOf(err) != http.StatusServiceUnavailable || !errors.Is(err, errs.ErrIO) || !strings.Contains(err.Error(), "key store is unavailable") {
		c.t.Errorf("keys r2 has not cached, Redis down: %v (want a 503 saying the key store is unavailable)", err)
	} else {
		fmt.Printf("cluster: keys r2 has not cached, Redis down: HTTP 503: %v\n", err)
	}
	time.Sleep(time.Second)
	duringOutage := sent.Load() - atStop
	c.ctl("start", "redis")
	c.predict("keys r2 had not cached, Redis back", patient, 301, 302)
	close(stop)
	wg.Wait()
	fmt.Printf("cluster: Redis restarted mid-run: %d requests with cached keys through HAProxy (%d while Redis was down), %d failed; uncached keys: 503 while down, answered after\n",
		sent.Load(), duringOutage, failures.Load())
	if duringOutage == 0 {
		c.t.Error("no request with cached keys was sent while Redis was down")
	}
}

// oneJob: one 10,000-image job from one client through HAProxy, its requests in
// flight together, is served by all three replicas, and its labels come back in
// input order.
func (c *cluster) oneJob() {
	before := []float64{c.predictions(c.replicas[0]), c.predictions(c.replicas[1]), c.predictions(c.replicas[2])}
	svc := c.connect(c.lb, remote.Options{InFlight: 6})
	start := time.Now()
	logits, err := svc.Predict(context.Background(), "mnist", c.images, insecureBatch)
	if err != nil {
		c.t.Fatal(err)
	}
	secs := time.Since(start).Seconds()
	if err := c.check("the job", 0, logits); err != nil {
		c.t.Error(err)
	}
	var shares []string
	for i, r := range c.replicas {
		n := c.predictions(r) - before[i]
		shares = append(shares, fmt.Sprintf("r%d %v", i+1, n))
		if n == 0 {
			c.t.Errorf("r%d served no request of the job", i+1)
		}
	}
	fmt.Printf("cluster: one job of %d images (insecure batch packing) through HAProxy in %.1f s, requests per replica: %s\n",
		len(c.images), secs, strings.Join(shares, ", "))
}
