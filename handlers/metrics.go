package handlers

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds Gatehouse's Prometheus collectors. Domain packages expose
// plain counters; they are read here through GaugeFunc/CounterFunc so that
// only this package imports the Prometheus client.
type Metrics struct {
	Registry *prometheus.Registry

	requests      *prometheus.CounterVec
	tokensMinted  *prometheus.CounterVec
	webhookDecide *prometheus.CounterVec
}

// NewMetrics creates the registry with Go and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		tokensMinted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_tokens_minted_total", Help: "Tokens minted by kind and algorithm.",
		}, []string{"kind", "alg"}),
		webhookDecide: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_webhook_decisions_total", Help: "Broker auth decisions by front and result.",
		}, []string{"front", "decision"}),
	}
	r.MustRegister(m.requests, m.tokensMinted, m.webhookDecide,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// TokenMinted counts one minted token.
func (m *Metrics) TokenMinted(kind, alg string) { m.tokensMinted.WithLabelValues(kind, alg).Inc() }

// Decision counts one broker auth decision ("allow" or "deny").
func (m *Metrics) Decision(front, decision string) {
	m.webhookDecide.WithLabelValues(front, decision).Inc()
}

// GaugeFunc registers a gauge read from f at scrape time.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// LabeledCounterFunc registers one labelled series of a counter read from f
// at scrape time; call it once per label value.
func (m *Metrics) LabeledCounterFunc(name, help string, labels map[string]string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
}

// CounterFunc registers a counter read from f at scrape time.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}
