package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/delivery"
	"coldtrace/ledger/fault"
)

// Alerts: webhook subscriptions, their deliveries, and the live stream of
// finding events (API.md, Alerts).

func (s *server) alertRoutes(g *gin.RouterGroup) {
	g.POST("/webhooks", s.createWebhook)
	g.GET("/webhooks", s.listWebhooks)
	g.DELETE("/webhooks/:id", s.deleteWebhook)
	g.GET("/webhooks/:id/deliveries", s.listDeliveries)
	g.GET("/findings/stream", s.findingStream)
}

func (s *server) createWebhook(c *gin.Context) {
	var req ledger.WebhookRequest
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	w, err := s.l.CreateWebhook(c.Request.Context(), principal(c), req)
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusCreated, w)
}

func (s *server) listWebhooks(c *gin.Context) {
	ws, err := s.l.Webhooks(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, gin.H{"webhooks": ws})
}

func (s *server) deleteWebhook(c *gin.Context) {
	if err := s.l.DeleteWebhook(c.Request.Context(), principal(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, gin.H{"id": c.Param("id"), "deleted": true})
}

func (s *server) listDeliveries(c *gin.Context) {
	limit, err := int64Param(c, "limit", 100)
	if err != nil {
		fail(c, err)
		return
	}
	ds, err := s.l.Deliveries(c.Request.Context(), principal(c), c.Param("id"), int(min(max(limit, 1), 1000)))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, gin.H{"deliveries": ds})
}

// closingKey holds, in a request's context, a channel closed when the
// server begins to shut down (Serve).
type closingKey struct{}

// streamPoll is how often the stream looks for new finding events.
const streamPoll = 100 * time.Millisecond

// findingStream sends the finding events the key may see as server-sent
// events, from now (or after Last-Event-ID) until the client goes away.
func (s *server) findingStream(c *gin.Context) {
	p := principal(c)
	cursor := ledger.AlertCursor(c.GetHeader("Last-Event-ID"))
	from := s.l.Size()
	if _, _, err := s.l.Alerts(c.Request.Context(), p, cursor, from, 0); err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-store")
	c.Header("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	fmt.Fprint(c.Writer, ": coldtrace findings\n\n")
	c.Writer.Flush()
	ctx := c.Request.Context()
	closing, _ := ctx.Value(closingKey{}).(<-chan struct{})
	tick := time.NewTicker(streamPoll)
	defer tick.Stop()
	for {
		evs, next, err := s.l.Alerts(c.Request.Context(), p, cursor, from, 500)
		if err != nil {
			s.log.ErrorContext(ctx, "finding stream", "err", err)
			return
		}
		for _, ev := range evs {
			fmt.Fprintf(c.Writer, "id: %s\nevent: %s\ndata: %s\n\n", next, ev.Type, ev.Payload)
		}
		if len(evs) > 0 {
			c.Writer.Flush()
		}
		cursor = next
		select {
		case <-ctx.Done():
			return
		case <-closing:
			return
		case <-tick.C:
		}
	}
}

// DelivererOptions tune the webhook delivery worker.
type DelivererOptions struct {
	// Backoff is the wait before each retry; after the last, a delivery is
	// given up. Standard Webhooks' schedule (about 27 hours) when nil.
	Backoff []time.Duration
	// Poll is how often the worker looks for due deliveries; 200 ms when 0.
	Poll time.Duration
	// Timeout bounds one attempt; 15 s when 0.
	Timeout time.Duration
	// Client sends the requests; a new one when nil.
	Client *http.Client
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultBackoff is Standard Webhooks' retry schedule (delivery.DefaultBackoff).
var DefaultBackoff = delivery.DefaultBackoff

// A Deliverer posts the ledger's finding events to the webhook
// subscriptions, and new captured EPCIS events to the subscriptions to
// named queries (epcis_queries.go), at least once: what it has not delivered stays in the
// ledger's outbox across restarts, and every retry carries the same
// webhook-id.
type Deliverer struct {
	l    *ledger.Ledger
	opts DelivererOptions
}

// NewDeliverer returns a worker for l; Run starts it.
func NewDeliverer(l *ledger.Ledger, opts DelivererOptions) *Deliverer {
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Deliverer{l: l, opts: opts}
}

// deliveryBatch bounds the webhook deliveries, and the subscription
// deliveries, one pass of the worker makes.
const deliveryBatch = 100

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	tick := time.NewTicker(d.opts.Poll)
	defer tick.Stop()
	for {
		full := d.Once(ctx) >= deliveryBatch
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		default:
			if !full { // a full batch: more may be due now
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}
	}
}

// Once makes every delivery due now, and reports how many it attempted.
func (d *Deliverer) Once(ctx context.Context) int {
	now := d.opts.Now()
	tasks, err := d.l.DueDeliveries(ctx, now, deliveryBatch)
	if err != nil && fault.KindOf(err) != fault.Conflict {
		d.opts.Logger.ErrorContext(ctx, "webhook deliveries", "err", err)
	}
	subs, err := d.l.DueEPCISDeliveries(ctx, now, deliveryBatch)
	if err != nil && fault.KindOf(err) != fault.Conflict {
		d.opts.Logger.ErrorContext(ctx, "EPCIS subscription deliveries", "err", err)
	}
	tasks = append(tasks, subs...)
	gone := map[string]bool{} // subscriptions a receiver disabled in this batch
	for _, t := range tasks {
		if ctx.Err() != nil {
			return 0
		}
		if gone[t.Webhook] {
			continue // its later deliveries are not sent
		}
		a := d.attempt(ctx, t)
		if a.Status == http.StatusGone {
			gone[t.Webhook] = true
		}
		if err := d.l.DeliveryDone(context.WithoutCancel(ctx), t, a); err != nil {
			d.opts.Logger.ErrorContext(ctx, "webhook delivery result", "webhook", t.Webhook, "err", err)
		}
	}
	return len(tasks)
}

// attempt posts one delivery, signed, and says how it went.
func (d *Deliverer) attempt(ctx context.Context, t ledger.DeliveryTask) ledger.Attempt {
	now := d.opts.Now()
	a := ledger.Attempt{At: now}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	ts := strconv.FormatInt(now.Unix(), 10)
	var sig string
	var err error
	if !t.GS1 {
		sig, err = Sign(t.Secret, t.MessageID, ts, t.Payload)
	}
	if err == nil {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Payload))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "coldtrace-webhooks")
			req.Header.Set("webhook-id", t.MessageID)
			req.Header.Set("webhook-timestamp", ts)
			if t.GS1 {
				req.Header.Set("Content-Type", "application/ld+json")
				req.Header.Set("GS1-EPCIS-Version", epcisVersion)
				if t.Secret != "" {
					req.Header.Set("GS1-Signature", SignGS1(t.Secret, t.Payload))
				}
			} else {
				req.Header.Set("webhook-signature", sig)
			}
			var resp *http.Response
			if resp, err = d.opts.Client.Do(req); err == nil {
				io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				a.Status = resp.StatusCode
				if resp.StatusCode >= 300 && resp.StatusCode != http.StatusGone {
					err = fmt.Errorf("receiver answered %d", resp.StatusCode)
				}
			}
		}
	}
	if err != nil {
		a.Error = err.Error()
		a.Next = delivery.Retry(d.opts.Backoff, t.Attempts, now)
	}
	return a
}

// Sign returns the Standard Webhooks signature of a message:
// "v1," + base64(HMAC-SHA256(secret bytes, id + "." + timestamp + "." + body)).
func Sign(secret, id, timestamp string, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fault.Errorf(fault.Internal, "webhook secret does not decode")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// SignGS1 returns the GS1-Signature of an EPCIS subscription's delivery:
// base64(HMAC-SHA256(the subscription's signatureToken, body)), HMAC with
// SHA-256 being the binding's example of a signature.
func SignGS1(token string, body []byte) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
