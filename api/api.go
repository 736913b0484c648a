// Package api is coldtrace's HTTP interface: the REST routes of the ledger,
// authentication and rate limits, RFC 9457 problem documents, metrics, the
// OpenAPI document and the embedded web pages. It is the only package that
// knows gin and net/http.
package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	gojson "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"

	"coldtrace/api/report"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

//go:embed openapi.yaml
var openapiYAML []byte

// Options configure the HTTP interface. Zero values take the defaults noted.
type Options struct {
	// Logger receives access and error logs; slog.Default() when nil.
	Logger *slog.Logger
	// MaxBodyBytes limits JSON request bodies; 1 MiB when 0.
	MaxBodyBytes int64
	// RatePerSecond and RateBurst limit each API key's requests; 200/s with a
	// burst of 400 when 0. A negative rate disables the limit.
	RatePerSecond float64
	RateBurst     int
	// Registry receives the HTTP and ledger metrics; a new one when nil.
	Registry *prometheus.Registry
	// MaxUploadBytes limits an attachment upload's request body (the
	// ledger limits the attachment itself); the ledger's
	// MaxAttachmentBytes plus 1 MiB of multipart framing when 0.
	MaxUploadBytes int64
	// PresignTTL is how long a presigned attachment URL is valid; 5
	// minutes when 0.
	PresignTTL time.Duration
	// PublicURL is the origin (and optional path prefix) of the consumer
	// pages, as printed in their QR codes, e.g. https://trace.example.cn;
	// the origin of each request when empty. See ValidatePublicURL.
	PublicURL string
	// AllowedHosts are the Host values (host or host:port, compared without
	// case) under which consumer-page URLs are given when PublicURL is
	// empty; a request with any other Host gets the address it came to.
	AllowedHosts []string
	// Ready, if set, is asked by /readyz besides the ledger and the blob
	// store: a non-nil error (a disk under its free-space reserve) fails it.
	Ready func() error
	// UploadFits, if set, is asked before an upload of a known size is
	// read: a non-nil error (the blob disk cannot take it) refuses it.
	UploadFits func(size int64) error
	// Limits protect the server from slow and hostile clients.
	Limits Limits
	// Collectors are more metrics for /metrics (the memory budget's).
	Collectors []prometheus.Collector
}

// server holds what the handlers need.
type server struct {
	l    *ledger.Ledger
	opts Options
	log  *slog.Logger
	lim  *limiter
	// anonLim limits each client address on the endpoints without a key,
	// authFailLim its failed authentications; nil when disabled.
	anonLim, authFailLim *limiter
	limits               Limits
	font                 *report.Font // the CJK font of PDF reports, read on first use
}

// New returns the HTTP handler of ledger l.
func New(l *ledger.Ledger, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond, opts.RateBurst = 200, 400
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.PresignTTL <= 0 {
		opts.PresignTTL = 5 * time.Minute
	}
	opts.Limits.defaults()
	s := &server{l: l, opts: opts, log: opts.Logger, lim: newLimiter(opts.RatePerSecond, opts.RateBurst), font: &report.Font{},
		anonLim:     newLimiter(opts.Limits.AnonPerSecond, opts.Limits.AnonBurst),
		authFailLim: newLimiter(opts.Limits.AuthFailPerSecond, opts.Limits.AuthFailBurst),
		limits:      opts.Limits}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// gin trusts every proxy by default: trust only the configured ones, so
	// that X-Forwarded-For cannot choose the address the limits count.
	if err := r.SetTrustedProxies(opts.Limits.TrustedProxies); err != nil {
		opts.Logger.Error("bad trusted proxies; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	m := newMetrics(opts.Registry, l)
	opts.Registry.MustRegister(opts.Collectors...)
	r.Use(requestID, s.recovery, m.middleware, s.accessLog, s.bodyDeadline, s.limitBody)
	r.NoRoute(func(c *gin.Context) { fail(c, fault.Errorf(fault.NotFound, "no such path")) })
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, problem{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Detail: c.Request.Method + " is not allowed here"})
	})

	r.GET("/healthz", func(c *gin.Context) { answer(c, http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	r.GET("/metrics", m.handler())

	v1 := r.Group("/v1")
	v1.GET("/openapi.yaml", s.anonLimit, func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", openapiYAML) })
	logs := v1.Group("/log")
	logs.GET("/checkpoint", s.anonLimit, s.checkpoint)
	logs.GET("/key", s.anonLimit, s.verifierKey)
	logs.GET("/proof/consistency", s.anonLimit, s.consistencyProof)
	logs.GET("/tile/*path", s.anonLimit, s.tile)

	// The EPCIS 2.0 REST binding (api/epcis_capture.go, api/epcis_query.go).
	ep := r.Group("/epcis", s.epcisHeaders, negotiateVersions)
	ep.OPTIONS("", s.anonLimit, epcisOptions("GET"))
	ep.OPTIONS("/capture", s.anonLimit, epcisOptions("GET, POST"))
	ep.OPTIONS("/events", s.anonLimit, epcisOptions("GET, POST"))
	epAuthed := ep.Group("", s.authenticate, s.rateLimit)
	epAuthed.POST("/capture", s.captureDocument)
	epAuthed.GET("/capture/:id", s.getCaptureJob)
	epAuthed.POST("/events", s.captureEvent)
	epAuthed.GET("/events", s.queryEvents)
	epAuthed.GET("/events/*id", s.getEPCISEvent)
	s.epcisQueryRoutes(epAuthed) // epcis_queries.go

	authed := v1.Group("", s.authenticate, s.rateLimit)
	authed.GET("/log/records", s.records) // record bodies: readers only (api/tiles.go)
	authed.GET("/log/proof/inclusion", s.inclusionProof)
	authed.POST("/orgs", s.registerOrg)
	authed.GET("/orgs/:uscc", s.getOrg)
	authed.POST("/sites", s.registerSite)
	authed.GET("/sites/:id", s.getSite)
	authed.GET("/sites/:id/worker-tests", s.workerTests) // worker_tests.go
	authed.POST("/keys", s.createKey)
	authed.GET("/keys", s.listKeys)
	authed.DELETE("/keys/:id", s.revokeKey)
	authed.POST("/events", s.postEvent)
	authed.POST("/events/batch", s.postBatch) // batchline.go
	authed.GET("/events/:seq", s.getEvent)
	authed.GET("/lots/:ref", s.getLot)
	authed.GET("/lots/:ref/events", s.getLotEvents)
	authed.GET("/lots/:ref/epcis", s.lotEPCIS)
	authed.GET("/findings", s.listFindings)
	authed.POST("/findings/:id/notice", s.issueNotice) // notice.go
	authed.GET("/policy", s.getPolicy)
	authed.PUT("/policy", s.putPolicy)
	s.alertRoutes(authed)
	s.attachmentRoutes(authed)
	s.annexRoutes(authed) // annex.go
	s.webRoutes(r, authed)
	s.queryRoutes(authed)
	return r
}

// ready reports whether the ledger accepts writes and the blob store serves.
func (s *server) ready(c *gin.Context) {
	if err := s.l.Healthy(); err != nil {
		fail(c, err)
		return
	}
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			fail(c, err)
			return
		}
	}
	if !s.blobsReady(c) {
		return
	}
	answer(c, http.StatusOK, gin.H{"status": "ready", "ledger": "ok", "blobs": "ok", "size": s.l.Size()})
}

// recovery turns a panic into a logged 500 problem.
func (s *server) recovery(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in handler", "path", c.Request.URL.Path, "panic", v)
			fail(c, fault.Errorf(fault.Internal, "panic"))
		}
	}()
	c.Next()
}

// accessLog logs one line per request. It hands the record to the handler
// itself, as slog's Logger would but without looking up the caller's
// source line (no handler here adds the source; one that does gets none),
// and reads the clock once for the duration and the record's time.
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	ctx := c.Request.Context()
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	end := time.Now()
	r := slog.NewRecord(end, slog.LevelInfo, "http", 0)
	r.AddAttrs(slog.String("method", c.Request.Method), slog.String("route", c.FullPath()), slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()), slog.Int("bytes", c.Writer.Size()),
		slog.Float64("dur_ms", float64(end.Sub(start).Microseconds())/1000))
	if p, ok := principalOf(c); ok {
		r.AddAttrs(slog.String("key", p.Key))
	}
	r.AddAttrs(slog.String("request_id", c.GetString(requestIDKey)))
	_ = h.Handle(ctx, r)
}

// limitBody caps request bodies; handlers that take more (uploads) replace
// the limit.
func (s *server) limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Set(rawBodyKey, c.Request.Body)
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes)
	}
	c.Next()
}

// answer answers status with v as JSON (writeJSON): every JSON answer but
// the problem documents.
func answer(c *gin.Context, status int, v any) {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(status)
	_ = writeJSON(c.Writer, v)
}

// writeJSON writes v as compact JSON without HTML escaping. It uses
// github.com/goccy/go-json, which writes the same bytes as encoding/json
// (TestWriteJSONMatchesEncodingJSON) in about half the time: a 1,000-lot
// trace with its custody histories is a megabyte of JSON, and encoding/json
// took longer to write it than the ledger took to find it.
func writeJSON(w http.ResponseWriter, v any) error {
	enc := gojson.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
