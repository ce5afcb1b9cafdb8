package service

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are what /metrics exports, in a registry of the service's own.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	bytesIn     *prometheus.CounterVec
	bytesOut    *prometheus.CounterVec
	evaluation  *prometheus.HistogramVec
	evaluations prometheus.Gauge
	rejected    *prometheus.CounterVec
}

func newMetrics(s *Service) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cryptonets_requests_total",
			Help: "HTTP requests answered, by route and status code."}, []string{"route", "code"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cryptonets_request_bytes_total",
			Help: "Bytes of request bodies read, by route."}, []string{"route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cryptonets_response_bytes_total",
			Help: "Bytes of response bodies written, by route."}, []string{"route"}),
		evaluation: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cryptonets_evaluation_seconds",
			Help:    "Time to evaluate one request (decoding the upload, evaluating, sealing the result), by model and packing.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"model", "packing"}),
		evaluations: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cryptonets_evaluations_in_flight",
			Help: "Evaluations running now."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cryptonets_rejected_total",
			Help: "Requests refused before any work, by HTTP status code."}, []string{"code"}),
	}
	reg.MustRegister(m.requests, m.bytesIn, m.bytesOut, m.evaluation, m.evaluations, m.rejected)
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	gauge("cryptonets_queue_depth", "Requests waiting for memory to be admitted.", func() float64 { return float64(s.budget.waiting.Load()) })
	gauge("cryptonets_memory_in_use_bytes", "Memory reserved by work in flight and plans.", func() float64 { return float64(s.budget.inUse.Load()) })
	gauge("cryptonets_memory_budget_bytes", "Memory that work in flight and plans may reserve.", func() float64 { return float64(s.budget.capacity) })
	gauge("cryptonets_keys_cached", "Decoded evaluation keys in the cache.", func() float64 { n, _ := s.keys.stats(); return float64(n) })
	gauge("cryptonets_keys_cached_bytes", "Memory of the decoded evaluation keys in the cache.", func() float64 { _, b := s.keys.stats(); return float64(b) })
	gauge("cryptonets_plans", "Compiled plans held.", func() float64 { return float64(s.plans.count()) })
	if c := storeUpMetric(s.cfg.Store); c != nil {
		reg.MustRegister(c)
	}
	return m
}
