package api

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"coldtrace/ledger"
)

type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, l *ledger.Ledger) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coldtrace_http_requests_total",
			Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coldtrace_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "coldtrace_log_size",
			Help: "Records in the log (the size of the latest signed tree).",
		}, func() float64 { return float64(l.Size()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "coldtrace_commit_groups_total",
			Help: "Groups of records the sequencer committed, each in one transaction with one signed checkpoint.",
		}, func() float64 { return float64(l.WriteStats().Groups) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "coldtrace_committed_records_total",
			Help: "Records committed since start (records per group = this / coldtrace_commit_groups_total).",
		}, func() float64 { return float64(l.WriteStats().Records) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "coldtrace_commit_seconds_total",
			Help: "Time from the start of each group to its commit, including the time it grew while the previous group was being synced.",
		}, func() float64 { return l.WriteStats().CommitTime.Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "coldtrace_syncs_total",
			Help: "Syncs to disk; each makes every group committed before it durable.",
		}, func() float64 { return float64(l.WriteStats().Syncs) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "coldtrace_sync_seconds_total",
			Help: "Time spent in syncs to disk.",
		}, func() float64 { return l.WriteStats().SyncTime.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "coldtrace_ledger_writable",
			Help: "1 while the ledger accepts writes, 0 after a storage failure stopped them.",
		}, func() float64 {
			if l.Healthy() != nil {
				return 0
			}
			return 1
		}),
	)
	return m
}

// middleware counts and times requests, labelled by route pattern (never by
// raw path, which would make unbounded label values).
func (m *metrics) middleware(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
}

func (m *metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}
