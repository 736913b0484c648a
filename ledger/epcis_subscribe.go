package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"coldtrace/ledger/delivery"
	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// EPCIS 2.0 query subscriptions: a named query's new matching events are
// posted to a subscriber's URL as EPCISQueryDocuments, by the delivery
// machinery webhooks use too (ledger/delivery's queue, keys.go:
// subscriptionQueue; deliveries.go, api.Deliverer). The outbox of captured events is
// the index of epcis_captured records, written in the same transaction as
// each record: a subscription's cursor walks it (fan-out, in
// DueEPCISDeliveries), so a committed event is never missed, across
// restarts. A delivery names up to maxSubscriptionBatch events; which of
// them the subscriber's key may read is checked again when it is sent, and
// only those are sent.

// An EPCISSubscription is a subscription to a named query, as answered.
type EPCISSubscription struct {
	ID            string    `json:"subscriptionID"`
	QueryName     string    `json:"queryName"`
	Dest          string    `json:"dest"`
	Stream        bool      `json:"stream"`
	ReportIfEmpty bool      `json:"reportIfEmpty"`
	Signed        bool      `json:"signed"` // deliveries carry GS1-Signature
	CreatedAt     time.Time `json:"createdAt"`
	Disabled      string    `json:"disabled,omitempty"` // why deliveries stopped
}

// storedSubscription is a subscription as kept.
type storedSubscription struct {
	EPCISSubscription
	Owner string `json:"owner"`
	Key   string `json:"key"`   // whose reading rights deliveries have
	Token string `json:"token"` // the signatureToken
	// From is the first record seq it is told of.
	From int64 `json:"from"`
}

// A SubscriptionRequest asks for a subscription, as the binding shapes it.
type SubscriptionRequest struct {
	Dest           string          `json:"dest"`
	SignatureToken string          `json:"signatureToken"`
	Stream         bool            `json:"stream"`
	ReportIfEmpty  bool            `json:"reportIfEmpty"`
	Schedule       json.RawMessage `json:"schedule"`
}

const (
	// maxSubscriptionBatch bounds the events of one delivery.
	maxSubscriptionBatch = 100
	// maxFanOutScan bounds the captured events one fan-out pass reads.
	maxFanOutScan = 10_000
)

// Stopped is where s keeps why its deliveries stopped (delivery.Dest).
func (s *storedSubscription) Stopped() *string { return &s.Disabled }

// Subscribe subscribes p's org to its named query queryName: every event
// captured from now on that the query selects and p may read is posted to
// req.Dest.
func (l *Ledger) Subscribe(ctx context.Context, p Principal, queryName string, req SubscriptionRequest) (*EPCISSubscription, error) {
	fe := &fault.Fields{}
	if !delivery.ValidURL(req.Dest) {
		fe.Add("dest", "must be an http or https URL")
	}
	if len(req.SignatureToken) > 1000 {
		fe.Add("signatureToken", "must be at most 1000 characters")
	}
	switch {
	case len(req.Schedule) > 0 && string(req.Schedule) != "null":
		fe.Add("schedule", "scheduled subscriptions are not offered; subscribe with stream: true")
	case !req.Stream:
		fe.Add("stream", "must be true: deliveries follow each new matching event")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	s := storedSubscription{EPCISSubscription: EPCISSubscription{ID: uuid.NewString(), QueryName: queryName, Dest: req.Dest, Stream: true,
		ReportIfEmpty: req.ReportIfEmpty, Signed: req.SignatureToken != "", CreatedAt: l.now().UTC()},
		Owner: queryOwner(p), Key: p.Key, Token: req.SignatureToken, From: l.Size()}
	err := l.store.Update(ctx, func(tx Tx) error {
		if _, err := namedQuery(tx, p, queryName); err != nil {
			return err
		}
		return subscriptionQueue.Create(tx, s.ID, &s, be64(s.From))
	})
	if err != nil {
		return nil, err
	}
	return &s.EPCISSubscription, l.store.Sync()
}

// Subscriptions lists the subscriptions to p's org's query queryName.
func (l *Ledger) Subscriptions(ctx context.Context, p Principal, queryName string) ([]EPCISSubscription, error) {
	out := []EPCISSubscription{}
	err := l.store.View(ctx, func(tx Tx) error {
		q, err := namedQuery(tx, p, queryName)
		if err != nil {
			return err
		}
		subs, err := subscriptionsOf(tx, q.Owner, queryName)
		for _, s := range subs {
			out = append(out, s.EPCISSubscription)
		}
		return err
	})
	return out, err
}

// SubscriptionOf returns subscription id to p's org's query queryName.
func (l *Ledger) SubscriptionOf(ctx context.Context, p Principal, queryName, id string) (*EPCISSubscription, error) {
	var s *storedSubscription
	err := l.store.View(ctx, func(tx Tx) (err error) { s, err = subscriptionOf(tx, p, queryName, id); return err })
	if err != nil {
		return nil, err
	}
	return &s.EPCISSubscription, nil
}

// Unsubscribe removes a subscription and its deliveries: nothing more is
// sent.
func (l *Ledger) Unsubscribe(ctx context.Context, p Principal, queryName, id string) error {
	return l.store.Update(ctx, func(tx Tx) error {
		if _, err := subscriptionOf(tx, p, queryName, id); err != nil {
			return err
		}
		return subscriptionQueue.Delete(tx, id)
	})
}

func subscriptionOf(tx Tx, p Principal, queryName, id string) (*storedSubscription, error) {
	var s storedSubscription
	err := subscriptionQueue.Dest(tx, id, &s)
	if fault.KindOf(err) == fault.NotFound || err == nil && (s.Owner != queryOwner(p) || s.QueryName != queryName) {
		return nil, fault.Errorf(fault.NotFound, "no subscription %s to query %s", id, queryName)
	}
	return &s, err
}

// subscriptionsOf returns the subscriptions to owner's query name.
func subscriptionsOf(tx Tx, owner, name string) ([]storedSubscription, error) {
	var out []storedSubscription
	err := subscriptionQueue.EachDest(tx, func(v []byte) error {
		var s storedSubscription
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		if s.Owner == owner && s.QueryName == name {
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// subscriber returns the principal a subscription's deliveries read as:
// its key's, now; ok is false once the key is revoked or gone.
func subscriber(st *state, s *storedSubscription) (Principal, bool, error) {
	k, err := st.apiKey(s.Key)
	if fault.KindOf(err) == fault.NotFound {
		return Principal{}, false, nil
	}
	if err != nil || k.Revoked {
		return Principal{}, false, err
	}
	return Principal{Key: k.ID, Org: k.Org, Role: k.Role, Regions: k.Regions}, true, nil
}

// capturedCache reads each captured event once per pass of the worker
// (fan-out and deliveries), however many subscriptions look at it. Records
// never change, so what it read in one transaction serves the next; who
// may read them is asked of the transaction at hand (st).
type capturedCache struct {
	st     *state
	recs   map[int64]*Record
	events map[int64]epcis.Event
}

func newCapturedCache() *capturedCache {
	return &capturedCache{recs: map[int64]*Record{}, events: map[int64]epcis.Event{}}
}

func (c *capturedCache) record(seq int64) (*Record, error) {
	if rec, ok := c.recs[seq]; ok {
		return rec, nil
	}
	rec, err := capturedRecord(c.st, seq)
	c.recs[seq] = rec
	return rec, err
}

// event is the captured event of seq as answered (CapturedEvent.Answered).
func (c *capturedCache) event(seq int64) (epcis.Event, error) {
	if e, ok := c.events[seq]; ok {
		return e, nil
	}
	rec, err := c.record(seq)
	if err != nil {
		return epcis.Event{}, err
	}
	e, err := newCapturedEvent(rec).Answered()
	c.events[seq] = e
	return e, err
}

// visible reports whether p may read the captured event of seq (ok false:
// the subscriber's key is revoked).
func (c *capturedCache) visible(p Principal, ok bool, seq int64) (bool, error) {
	if !ok {
		return false, nil
	}
	rec, err := c.record(seq)
	if err != nil {
		return false, err
	}
	return c.st.recordVisible(p, rec)
}

// A fanOut is one subscription in a fan-out pass.
type fanOut struct {
	sub   *storedSubscription
	from  int64 // its cursor
	match *epcis.Query
	p     Principal
	ok    bool // its key may read
	batch []int64
}

// fanOutSubscriptions turns the captured events past each subscription's
// cursor (durable records only) that its query selects and its key may
// read into pending deliveries, a batch of events each, and moves the
// cursors, in one transaction. Each event is read once for all of them.
func (l *Ledger) fanOutSubscriptions(ctx context.Context, now time.Time, cache *capturedCache) error {
	size := l.Size()
	prefix := idxEventKind.prefix(string(EPCISCaptured))
	return l.store.Update(ctx, func(tx Tx) error {
		st := &state{tx: tx, ctx: ctx}
		var fans []*fanOut
		from := size
		if err := subscriptionQueue.EachDest(tx, func(v []byte) error {
			f := &fanOut{sub: &storedSubscription{}}
			if err := json.Unmarshal(v, f.sub); err != nil || f.sub.Disabled != "" {
				return err
			}
			cur, err := subscriptionQueue.Cursor(tx, f.sub.ID)
			if err != nil {
				return err
			}
			if f.from = int64(beUint(cur)); f.from >= size {
				return nil
			}
			q, err := ownedQuery(tx, f.sub.Owner, f.sub.QueryName)
			if err != nil {
				return err
			}
			if _, f.match, err = QueryValues(q.Query); err != nil {
				return err
			}
			if f.p, f.ok, err = subscriber(st, f.sub); err != nil {
				return err
			}
			fans = append(fans, f)
			from = min(from, f.from)
			return nil
		}); err != nil || len(fans) == 0 {
			return err
		}
		flush := func(f *fanOut) error {
			if len(f.batch) == 0 {
				return nil
			}
			d := Delivery{Webhook: f.sub.ID, MessageID: "epcis_" + f.sub.ID + "_" + strconv.FormatInt(f.batch[0], 10), Type: "epcis.events",
				Seq: f.batch[0], Seqs: f.batch, State: delivery.Pending(now)}
			f.batch = nil
			return subscriptionQueue.Enqueue(tx, f.sub.ID, be64(d.Seq), &d)
		}
		cache.st = st
		next, scanned := size, 0
		err := tx.Scan(prefix, append(bytes.Clone(prefix), be64(from)...), false, func(k, _ []byte) error {
			seq := int64(beUint(k[len(prefix):]))
			if seq >= size {
				return fault.ErrStop
			}
			if scanned++; scanned > maxFanOutScan {
				next = seq
				return fault.ErrStop
			}
			for _, f := range fans {
				if seq < f.from {
					continue
				}
				ok, err := cache.visible(f.p, f.ok, seq)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				e, err := cache.event(seq)
				if err != nil {
					return err
				}
				if !f.match.Match(e) {
					continue
				}
				if f.batch = append(f.batch, seq); len(f.batch) == maxSubscriptionBatch {
					if err := flush(f); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, f := range fans {
			if err := flush(f); err != nil {
				return err
			}
			if err := subscriptionQueue.SetCursor(tx, f.sub.ID, be64(max(next, f.from))); err != nil {
				return err
			}
		}
		return nil
	})
}

// DueEPCISDeliveries fans new captured events out to the subscriptions and
// returns at most limit deliveries due at now, each an EPCISQueryDocument
// of the events its subscriber's key may read now. A delivery left with no
// event is not sent (unless the subscription asked reportIfEmpty): it is
// recorded as dropped.
func (l *Ledger) DueEPCISDeliveries(ctx context.Context, now time.Time, limit int) ([]DeliveryTask, error) {
	cache := newCapturedCache()
	if err := l.fanOutSubscriptions(ctx, now, cache); err != nil {
		return nil, err
	}
	var out []DeliveryTask
	var dropped []DeliveryTask
	err := l.view(ctx, func(st *state) error {
		subs := map[string]*storedSubscription{}
		cache.st = st
		open := func(id string) (bool, error) {
			s := subs[id]
			if s == nil {
				s = &storedSubscription{}
				err := subscriptionQueue.Dest(st.tx, id, s)
				if fault.KindOf(err) == fault.NotFound {
					return false, nil // unsubscribed while a fan-out wrote this one
				} else if err != nil {
					return false, err
				}
				subs[id] = s
			}
			return s.Disabled == "", nil
		}
		return delivery.Due(subscriptionQueue, st.tx, now, limit, open, func(id string, sfx []byte, d *Delivery) (bool, error) {
			d.key = sfx
			s := subs[id]
			t := DeliveryTask{Delivery: *d, URL: s.Dest, Secret: s.Token, GS1: true}
			payload, err := l.subscriptionDocument(st, cache, s, d, now)
			if err != nil || payload == nil {
				if err == nil {
					dropped = append(dropped, t)
				}
				return false, err
			}
			t.Payload = payload
			out = append(out, t)
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	for _, t := range dropped {
		if err := l.epcisDeliveryDone(ctx, t, Attempt{At: now, Error: "no event of it may be read by the subscriber's key now"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// subscriptionDocument is the EPCISQueryDocument delivery d of s carries:
// the events of it that s's key may read now; nil when none may and s did
// not ask reportIfEmpty.
func (l *Ledger) subscriptionDocument(st *state, cache *capturedCache, s *storedSubscription, d *Delivery, now time.Time) ([]byte, error) {
	p, ok, err := subscriber(st, s)
	if err != nil {
		return nil, err
	}
	var events []epcis.Event
	prefixes := map[string]string{}
	for _, seq := range d.Seqs {
		if readable, err := cache.visible(p, ok, seq); err != nil || !readable {
			if err != nil {
				return nil, err
			}
			continue
		}
		e, err := cache.event(seq)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
		for k, iri := range cache.recs[seq].EPCIS.Prefixes {
			if _, ok := prefixes[k]; !ok {
				prefixes[k] = iri
			}
		}
	}
	if len(events) == 0 && !s.ReportIfEmpty {
		return nil, nil
	}
	return epcis.Encode(now, epcis.Header{Prefixes: prefixes, QueryName: s.QueryName, SubscriptionID: s.ID}, events)
}

// epcisDeliveryDone is DeliveryDone for a subscription's delivery: a 2xx
// delivers it, a 410 Gone disables the subscription, anything else is tried
// again at a.Next (or given up); an attempt with neither status nor error
// (nothing readable to send) drops it.
func (l *Ledger) epcisDeliveryDone(ctx context.Context, t DeliveryTask, a Attempt) error {
	return l.store.Update(ctx, func(tx Tx) error {
		d := t.Delivery
		if a.Status == 0 && a.Next == nil && t.Payload == nil {
			return subscriptionQueue.Drop(tx, t.Webhook, t.key, &d, a, &storedSubscription{})
		}
		return subscriptionQueue.Done(tx, t.Webhook, t.key, &d, a, &storedSubscription{})
	})
}
