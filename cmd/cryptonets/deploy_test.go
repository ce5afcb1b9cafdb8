package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/keystore"
)

// The deployment files are not run by any test here (there is no Kubernetes): these
// tests hold them to the code they deploy, so that a renamed flag, endpoint or
// port, or a plan that outgrows the memory the pods get, fails make test.

// kubeObjects reads every object of a YAML file of deploy/kubernetes by kind.
func kubeObjects(t *testing.T, file string) map[string]map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]any{}
	dec := yaml.NewDecoder(f)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		kind, _ := obj["kind"].(string)
		if kind == "" || out[kind] != nil {
			t.Fatalf("%s: an object without a kind, or two of kind %q", file, kind)
		}
		out[kind] = obj
	}
}

// at follows a path of map keys and list indexes in a decoded YAML object.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("no field %q at %v", k, path)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("no item %d at %v", k, path)
			}
			v = l[k]
		}
	}
	return v
}

func str(t *testing.T, v any, path ...any) string {
	t.Helper()
	s, ok := at(t, v, path...).(string)
	if !ok {
		t.Fatalf("%v: not a string: %v", path, at(t, v, path...))
	}
	return s
}

// TestKubernetesManifests: the Deployment's environment sets real serve flags, its
// probes ask the service's health and readiness endpoints on the port the image
// listens on, --memory is the memory limit and the limit is the request, the key
// store is the Redis of redis.yaml, the grace period outlasts the shutdown, and the
// Service, the autoscaler and the disruption budget point at the Deployment.
func TestKubernetesManifests(t *testing.T) {
	app, redis := kubeObjects(t, "cryptonets.yaml"), kubeObjects(t, "redis.yaml")
	dep := app["Deployment"]
	pod := at(t, dep, "spec", "template")
	ctr := at(t, pod, "spec", "containers", 0)
	help := cn(t, "serve", "-h").stdout + cn(t, "serve", "-h").stderr

	env := map[string]any{}
	for _, e := range at(t, ctr, "env").([]any) {
		name := str(t, e, "name")
		env[name] = e
		flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, envPrefix), "_", "-"))
		if !strings.HasPrefix(name, envPrefix) || !strings.Contains(help, "-"+flagName+" ") {
			t.Errorf("env %s sets no flag of cryptonets serve", name)
		}
	}
	if ref := str(t, env["CRYPTONETS_MEMORY"], "valueFrom", "resourceFieldRef", "resource"); ref != "limits.memory" {
		t.Errorf("CRYPTONETS_MEMORY comes from %s, not the memory limit", ref)
	}
	res := at(t, ctr, "resources")
	if req, lim := str(t, res, "requests", "memory"), str(t, res, "limits", "memory"); req != lim {
		t.Errorf("memory request %s, limit %s: the scheduler must reserve what --memory allows", req, lim)
	}

	port := at(t, ctr, "ports", 0, "containerPort").(int)
	dockerfile, err := os.ReadFile(filepath.Join("..", "..", "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("CRYPTONETS_LISTEN=:%d", port); !strings.Contains(string(dockerfile), want) {
		t.Errorf("the image does not listen where the container port says (%s)", want)
	}
	for probe, path := range map[string]string{"startupProbe": httpapi.PathHealth, "livenessProbe": httpapi.PathHealth, "readinessProbe": httpapi.PathReady} {
		if got := str(t, ctr, probe, "httpGet", "path"); got != path {
			t.Errorf("%s asks %s, want %s", probe, got, path)
		}
	}

	store := str(t, env["CRYPTONETS_KEY_STORE"], "value")
	u, err := url.Parse(store)
	if err != nil || !keystore.IsRedisURL(store) {
		t.Fatalf("CRYPTONETS_KEY_STORE %q is not a Redis URL", store)
	}
	if _, err := keystore.OpenRedis(store); err != nil {
		t.Error(err)
	}
	if svc := str(t, redis["Service"], "metadata", "name"); u.Hostname() != svc {
		t.Errorf("the key store is %s, the Redis Service %s", u.Hostname(), svc)
	}
	if p := at(t, redis["StatefulSet"], "spec", "template", "spec", "containers", 0, "ports", 0, "containerPort").(int); u.Port() != strconv.Itoa(p) {
		t.Errorf("the key store's port %s, Redis listens on %d", u.Port(), p)
	}
	args := at(t, redis["StatefulSet"], "spec", "template", "spec", "containers", 0, "args").([]any)
	if i := slices.Index(args, any("--maxmemory-policy")); i < 0 || args[i+1] != "noeviction" {
		t.Errorf("Redis may evict keys: args %v", args)
	}

	shutdown, err := time.ParseDuration(str(t, env["CRYPTONETS_SHUTDOWN_TIMEOUT"], "value"))
	if err != nil {
		t.Fatal(err)
	}
	preStop := time.Duration(at(t, ctr, "lifecycle", "preStop", "sleep", "seconds").(int)) * time.Second
	if grace := time.Duration(at(t, pod, "spec", "terminationGracePeriodSeconds").(int)) * time.Second; grace <= shutdown+preStop {
		t.Errorf("grace period %v: the shutdown may take %v after a %v preStop", grace, shutdown, preStop)
	}

	name := str(t, dep, "metadata", "name")
	labels := at(t, pod, "metadata", "labels").(map[string]any)
	for kind, path := range map[string][]any{"Deployment": {"spec", "selector", "matchLabels"}, "Service": {"spec", "selector"},
		"PodDisruptionBudget": {"spec", "selector", "matchLabels"}} {
		for k, v := range at(t, app[kind], path...).(map[string]any) {
			if labels[k] != v {
				t.Errorf("the %s selects %s=%v, which the pods do not have", kind, k, v)
			}
		}
	}
	if target := str(t, app["HorizontalPodAutoscaler"], "spec", "scaleTargetRef", "name"); target != name {
		t.Errorf("the autoscaler scales %s, not %s", target, name)
	}
	if target := str(t, app["Service"], "spec", "ports", 0, "targetPort"); target != str(t, ctr, "ports", 0, "name") {
		t.Errorf("the Service targets port %s", target)
	}
}

// TestPodMemoryHoldsTheDefaultPlans starts cryptonets serve with the pod's memory
// (the Deployment's limit, as CRYPTONETS_MEMORY gets it) and checks that the work
// budget it computes holds one request of each default plan, the 128-bit batch
// request the largest.
func TestPodMemoryHoldsTheDefaultPlans(t *testing.T) {
	app := kubeObjects(t, "cryptonets.yaml")
	limit := str(t, app["Deployment"], "spec", "template", "spec", "containers", 0, "resources", "limits", "memory")
	gi, ok := strings.CutSuffix(limit, "Gi")
	n, err := strconv.Atoi(gi)
	if !ok || err != nil {
		t.Fatalf("memory limit %q: this test reads NGi", limit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testEnv.bin, "serve", "--model", "mnist="+testEnv.model, "--listen", "127.0.0.1:0",
		"--keys-dir", t.TempDir(), "--json")
	cmd.Env = append(os.Environ(), "CRYPTONETS_MEMORY="+strconv.FormatInt(int64(n)<<30, 10)) // bytes, as resourceFieldRef gives them
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	var serving struct {
		Msg        string `json:"msg"`
		Address    string `json:"address"`
		WorkMemory int64  `json:"work_memory"`
	}
	sc := bufio.NewScanner(stderr)
	for serving.Msg != "serving" && sc.Scan() {
		json.Unmarshal(sc.Bytes(), &serving)
	}
	if serving.Msg != "serving" {
		t.Fatalf("cryptonets serve did not start: %v", sc.Err())
	}
	go io.Copy(io.Discard, stderr)
	resp, err := http.Get("http://" + serving.Address + httpapi.PathModels)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var models httpapi.Models
	if err := json.NewDecoder(resp.Body).Decode(&models); err != nil {
		t.Fatal(err)
	}
	held := metricValue(t, "http://"+serving.Address, "cryptonets_memory_in_use_bytes")
	if len(models.Models) != 1 || len(models.Models[0].Packings) == 0 {
		t.Fatalf("models: %+v", models)
	}
	for _, p := range models.Models[0].Packings {
		if need := p.RequestBytes + p.EvaluationBytes; float64(need) > float64(serving.WorkMemory)-held {
			t.Errorf("a pod with %s: a %s request needs %d bytes, the budget has %d (%v held by the plans)", limit, p.Packing, need, serving.WorkMemory, held)
		}
	}
}

// metricValue reads a metric without labels from a server's /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + httpapi.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestHAProxyChecksReadiness: HAProxy's health check asks the service's readiness
// endpoint.
func TestHAProxyChecksReadiness(t *testing.T) {
	cfg, err := os.ReadFile(filepath.Join("..", "..", "deploy", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "http-check send meth GET uri " + httpapi.PathReady + "\n"; !strings.Contains(string(cfg), want) {
		t.Errorf("deploy/haproxy/haproxy.cfg does not check %s", httpapi.PathReady)
	}
}

// TestServeKeyStoreFlag: --key-store takes a Redis URL; a directory or a URL that
// does not parse is refused with one line before anything is served.
func TestServeKeyStoreFlag(t *testing.T) {
	serve := func(store string) result {
		return cn(t, "serve", "--model", testEnv.model, "--listen", "127.0.0.1:0", "--key-store", store)
	}
	fails(t, serve(t.TempDir()), "want a redis://, rediss:// or unix:// URL")
	fails(t, serve("redis://localhost/notadb"), "is not a Redis URL")
}
