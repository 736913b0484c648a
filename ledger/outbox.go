package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"coldtrace/ledger/delivery"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
	"coldtrace/ledger/input"
)

// The alerts outbox. Every finding opened, acknowledged or closed leaves an
// outbox entry written in the same transaction as the finding, in the
// auxiliary namespace (a/: replay and verify never look at it). Webhook
// subscriptions, their fan-out cursors and their deliveries live there too,
// kept by ledger/delivery's queue (keys.go: webhookQueue); this file says
// which finding events each webhook is told. The ledger does no HTTP: a
// delivery worker (package api) takes the due deliveries and reports how
// each attempt went (deliveries.go).

// Finding event types, as deliveries and the stream name them.
const (
	AlertOpened       = "finding.opened"
	AlertAcknowledged = "finding.acknowledged"
	AlertClosed       = "finding.closed"
	AlertOverdue      = "finding.overdue"
	AlertAssigned     = "finding.assigned"
)

// An AlertEvent is one finding event: the payload delivered to webhooks and
// on the stream. ID is the webhook-id of every delivery of it.
type AlertEvent struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Seq    int64  `json:"seq"`
	Region string `json:"region"`
	Rule   string `json:"rule"`
	Org    string `json:"org,omitempty"`
	// Assigned is the sub-region the finding was assigned to: its
	// regulators are told too.
	Assigned string          `json:"assigned,omitempty"`
	Payload  json.RawMessage `json:"payload"` // {"type","finding"}
}

// An AlertFinding is a finding as alerts carry it: with its place in the
// worklist.
type AlertFinding struct {
	Finding
	Worklist
}

// outboxEvent returns the event type a finding's change is, and the record
// that made it ("" when nothing to tell).
func outboxEvent(old, f *Finding) (string, int64) {
	switch {
	case old == nil:
		return AlertOpened, f.Seq
	case old.Open && !f.Open:
		return AlertClosed, f.ClosedSeq
	case old.AckSeq == 0 && f.AckSeq > 0:
		return AlertAcknowledged, f.AckSeq
	case old.OverdueSeq == 0 && f.OverdueSeq > 0:
		return AlertOverdue, f.OverdueSeq
	case old.AssignedSeq != f.AssignedSeq:
		return AlertAssigned, f.AssignedSeq
	}
	return "", 0
}

// putOutbox writes the outbox entry for a change of finding from old to f;
// a new open finding is also put where the sweep looks for findings past
// their acknowledgement deadline.
func (st *state) putOutbox(old, f *Finding) error {
	typ, seq := outboxEvent(old, f)
	if typ == "" {
		return nil
	}
	at := f.OpenedAt
	switch {
	case typ == AlertOpened && f.Open:
		if err := st.tx.Set(ackDueKey(f), nil); err != nil {
			return err
		}
	case typ == AlertOverdue:
		at = *f.OverdueAt
	}
	af := AlertFinding{Finding: *f, Worklist: f.Worklist(at)}
	if err := st.fillPeople(&af.Finding); err != nil { // people_findings.go
		return err
	}
	payload, err := json.Marshal(struct {
		Type    string        `json:"type"`
		Finding *AlertFinding `json:"finding"`
	}{typ, &af})
	if err != nil {
		return err
	}
	sfx := outboxSuffix(seq, f.ID, typ)
	ev := AlertEvent{ID: "msg_" + strconv.FormatInt(seq, 10) + "_" + f.ID + "_" + strings.TrimPrefix(typ, "finding."),
		Type: typ, Seq: seq, Region: f.Region, Rule: f.Rule, Org: f.Org, Assigned: f.AssignedTo, Payload: payload}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return st.tx.Set(outboxKey(sfx), data)
}

// ackDueKey is where the sweep finds f until it is acknowledged, closed or
// told overdue.
func ackDueKey(f *Finding) []byte {
	return key(prefixAckDue, be64(f.OpenedAt.Add(policyOf(f.Rule).AckWithin).UnixMicro()), []byte(f.ID))
}

func outboxSuffix(seq int64, id, typ string) []byte {
	return key(be64(seq), []byte("/"+id+"/"+typ))
}

// AlertCursor is a position in the outbox: what a stream has seen.
type AlertCursor string

// Alerts returns the finding events after cursor (from the start of the
// next record when cursor is empty: seq from) that p may see, at most
// limit, and the cursor after them. Only durable records are told.
func (l *Ledger) Alerts(ctx context.Context, p Principal, cursor AlertCursor, from int64, limit int) ([]AlertEvent, AlertCursor, error) {
	start := outboxKey(be64(from))
	if cursor != "" {
		b, err := hex.DecodeString(string(cursor))
		if err != nil {
			return nil, "", fault.InvalidField("Last-Event-ID", "is not a stream position")
		}
		start = outboxKey(b, []byte{0})
	}
	size := l.Size()
	var out []AlertEvent
	next := cursor
	err := l.store.View(ctx, func(tx Tx) error {
		return tx.Scan(prefixOutbox, start, false, func(k, v []byte) error {
			sfx := k[len(prefixOutbox):]
			if int64(beUint(sfx[:8])) >= size || len(out) >= limit {
				return fault.ErrStop
			}
			next = AlertCursor(hex.EncodeToString(sfx))
			var ev AlertEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			if alertVisible(p, &ev) {
				out = append(out, ev)
			}
			return nil
		})
	})
	return out, next, err
}

// alertVisible reports whether p may see a finding event: auditors and
// admins all, regulators those of their regions, operators those about
// their org.
func alertVisible(p Principal, ev *AlertEvent) bool {
	switch {
	case p.readsAll():
		return true
	case p.Role == RoleRegulator:
		return covers(p.Regions, ev.Region) || covers(p.Regions, ev.Assigned)
	}
	return p.Org != "" && ev.Org == p.Org
}

// A Webhook is a subscription to finding events.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Rules     []string  `json:"rules"`
	Regions   []string  `json:"regions"`
	Org       string    `json:"org"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
	// From is the first record whose findings it is told of.
	From     int64  `json:"from"`
	Disabled string `json:"disabled,omitempty"` // why deliveries stopped
	Secret   string `json:"secret,omitempty"`   // shown only when created
}

// A WebhookRequest asks for a subscription.
type WebhookRequest struct {
	URL     string   `json:"url"`
	Rules   []string `json:"rules"`
	Regions []string `json:"regions"`
}

// mayWatch refuses keys that may not subscribe: regulators and auditors
// may.
func mayWatch(p Principal) error {
	if p.Role != RoleRegulator && p.Role != RoleAuditor {
		return fault.Errorf(fault.Forbidden, "only regulator and auditor keys subscribe to findings")
	}
	return nil
}

// CreateWebhook subscribes p's org to the findings of rules (all when
// empty) in regions (the key's when empty). The secret is returned once.
func (l *Ledger) CreateWebhook(ctx context.Context, p Principal, req WebhookRequest) (*Webhook, error) {
	if err := mayWatch(p); err != nil {
		return nil, err
	}
	var err error
	if req.Rules, err = input.Dedupe("rules", req.Rules, len(RuleText)); err != nil {
		return nil, err
	}
	if req.Regions, err = input.Dedupe("regions", req.Regions, MaxRegions); err != nil {
		return nil, err
	}
	fe := &fault.Fields{}
	if !delivery.ValidURL(req.URL) {
		fe.Add("url", "must be an http or https URL")
	}
	for _, r := range req.Rules {
		if _, ok := RuleText[r]; !ok {
			fe.Add("rules", "unknown rule %q", r)
		}
	}
	for _, r := range req.Regions {
		switch {
		case !ident.ValidRegionPrefix(r):
			fe.Add("regions", "%q is not a region prefix (2, 4 or 6 digits)", r)
		case p.Role == RoleRegulator && !covers(p.Regions, r):
			return nil, fault.Errorf(fault.Forbidden, "region %s is outside this key's regions (%s)", r, strings.Join(p.Regions, ", "))
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	regions := slices.Clone(req.Regions)
	if len(regions) == 0 && p.Role == RoleRegulator {
		regions = slices.Clone(p.Regions)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	w := &Webhook{ID: uuid.NewString(), URL: req.URL, Rules: slices.Clone(req.Rules), Regions: regions, Org: p.Org, Key: p.Key,
		CreatedAt: l.now().UTC(), From: l.Size(), Secret: "whsec_" + base64.StdEncoding.EncodeToString(raw[:])}
	if w.Rules == nil {
		w.Rules = []string{}
	}
	if w.Regions == nil {
		w.Regions = []string{}
	}
	err = l.store.Update(ctx, func(tx Tx) error { return webhookQueue.Create(tx, w.ID, w, outboxKey(be64(w.From))) })
	if err != nil {
		return nil, err
	}
	return w, l.store.Sync()
}

// Webhooks lists the subscriptions of p's org, without their secrets.
func (l *Ledger) Webhooks(ctx context.Context, p Principal) ([]Webhook, error) {
	if err := mayWatch(p); err != nil {
		return nil, err
	}
	out := []Webhook{}
	err := l.store.View(ctx, func(tx Tx) error {
		return webhookQueue.EachDest(tx, func(v []byte) error {
			var w Webhook
			if err := json.Unmarshal(v, &w); err != nil {
				return err
			}
			if w.Org == p.Org {
				w.Secret = ""
				out = append(out, w)
			}
			return nil
		})
	})
	return out, err
}

// webhook returns subscription id if p's org owns it.
func webhookOf(tx Tx, p Principal, id string) (*Webhook, error) {
	var w Webhook
	err := webhookQueue.Dest(tx, id, &w)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no webhook %s", id)
	}
	if err != nil {
		return nil, err
	}
	if p.Org != w.Org && !(p.Role == RoleAdmin) {
		return nil, fault.Errorf(fault.NotFound, "no webhook %s", id)
	}
	return &w, nil
}

// DeleteWebhook removes a subscription of p's org and its pending
// deliveries; the deliveries made stay listed until then.
func (l *Ledger) DeleteWebhook(ctx context.Context, p Principal, id string) error {
	if err := mayWatch(p); err != nil {
		return err
	}
	return l.store.Update(ctx, func(tx Tx) error {
		if _, err := webhookOf(tx, p, id); err != nil {
			return err
		}
		return webhookQueue.Delete(tx, id)
	})
}

// Deliveries lists a subscription's deliveries, newest first, at most
// limit.
func (l *Ledger) Deliveries(ctx context.Context, p Principal, id string, limit int) ([]Delivery, error) {
	if err := mayWatch(p); err != nil {
		return nil, err
	}
	out := []Delivery{}
	err := l.store.View(ctx, func(tx Tx) error {
		if _, err := webhookOf(tx, p, id); err != nil {
			return err
		}
		return webhookQueue.List(tx, id, limit, func(v []byte) error {
			var d Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// webhookMatches reports whether w wants ev.
func webhookMatches(w *Webhook, ev *AlertEvent) bool {
	if len(w.Rules) > 0 && !slices.Contains(w.Rules, ev.Rule) {
		return false
	}
	return len(w.Regions) == 0 || covers(w.Regions, ev.Region) || covers(w.Regions, ev.Assigned)
}

// Stopped is where w keeps why its deliveries stopped (delivery.Dest).
func (w *Webhook) Stopped() *string { return &w.Disabled }

// DueDeliveries fans the outbox out to the subscriptions (each new finding
// event becomes a pending delivery of every subscription that wants it)
// and returns at most limit deliveries due at now.
func (l *Ledger) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]DeliveryTask, error) {
	size := l.Size()
	hooks := map[string]*Webhook{}
	err := l.store.Update(ctx, func(tx Tx) error {
		if err := webhookQueue.EachDest(tx, func(v []byte) error {
			var w Webhook
			if err := json.Unmarshal(v, &w); err != nil {
				return err
			}
			hooks[w.ID] = &w
			return nil
		}); err != nil {
			return err
		}
		for _, w := range hooks {
			if w.Disabled == "" {
				if err := fanOutWebhook(tx, w, size, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []DeliveryTask
	err = l.store.View(ctx, func(tx Tx) error {
		open := func(id string) (bool, error) { w := hooks[id]; return w != nil && w.Disabled == "", nil }
		return delivery.Due(webhookQueue, tx, now, limit, open, func(id string, sfx []byte, d *Delivery) (bool, error) {
			evData, err := tx.Get(outboxKey(sfx))
			if err != nil {
				return false, err
			}
			var ev AlertEvent
			if err := json.Unmarshal(evData, &ev); err != nil {
				return false, err
			}
			d.key = sfx
			w := hooks[id]
			out = append(out, DeliveryTask{Delivery: *d, URL: w.URL, Secret: w.Secret, Payload: ev.Payload})
			return true, nil
		})
	})
	return out, err
}

// fanOutWebhook turns the finding events past w's cursor (durable records
// only) that w wants into pending deliveries, and moves the cursor.
func fanOutWebhook(tx Tx, w *Webhook, size int64, now time.Time) error {
	start, err := webhookQueue.Cursor(tx, w.ID)
	if err != nil {
		return err
	}
	next := start
	var ds []Delivery
	if err := tx.Scan(prefixOutbox, start, false, func(k, v []byte) error {
		sfx := k[len(prefixOutbox):]
		if int64(beUint(sfx[:8])) >= size {
			return fault.ErrStop
		}
		next = key(k, []byte{0})
		var ev AlertEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return err
		}
		if webhookMatches(w, &ev) {
			ds = append(ds, Delivery{Webhook: w.ID, MessageID: ev.ID, Type: ev.Type, Finding: findingOfSuffix(sfx), Seq: ev.Seq,
				State: delivery.Pending(now), key: bytes.Clone(sfx)})
		}
		return nil
	}); err != nil {
		return err
	}
	for i := range ds {
		if err := webhookQueue.Enqueue(tx, w.ID, ds[i].key, &ds[i]); err != nil {
			return err
		}
	}
	if !bytes.Equal(next, start) {
		return webhookQueue.SetCursor(tx, w.ID, next)
	}
	return nil
}

// findingOfSuffix returns the finding id of an outbox suffix.
func findingOfSuffix(sfx []byte) string {
	parts := strings.Split(string(sfx[9:]), "/")
	return parts[0]
}
