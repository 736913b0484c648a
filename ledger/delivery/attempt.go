package delivery

import (
	"encoding/json"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/kv"
)

// An Attempt is how one delivery attempt went.
type Attempt struct {
	At     time.Time
	Status int    // the receiver's HTTP status, 0 when none came
	Error  string // what went wrong
	// Next is when to try again after a failure; nil: give up.
	Next *time.Time
}

// DefaultBackoff is Standard Webhooks' retry schedule: 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h (27 h 35 min 5 s after the first attempt).
var DefaultBackoff = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Retry is when a delivery that failed at its attempts-th attempt (from 0)
// at at is tried again under backoff, the wait before each retry; nil once
// backoff is spent: it is given up.
func Retry(backoff []time.Duration, attempts int, at time.Time) *time.Time {
	if attempts < 0 || attempts >= len(backoff) {
		return nil
	}
	next := at.Add(backoff[attempts])
	return &next
}

// Done records attempt a of delivery r (of ref to destination id): a 2xx
// delivers it, a 410 Gone disables the destination (into is where to read
// it), anything else is tried again at a.Next or, without one, given up.
// A destination deleted meanwhile leaves nothing to record.
func (l Layout) Done(tx kv.Tx, id string, ref []byte, r Record, a Attempt, into Dest) error {
	return l.settle(tx, id, ref, r, into, func(s *State) (gone bool) {
		s.Attempts++
		switch {
		case a.Status >= 200 && a.Status < 300:
			s.Status, s.Delivered = "delivered", &a.At
		case a.Status == 410:
			s.Status = "disabled"
			return true
		case a.Next != nil:
			s.Status, s.NextAt = "pending", a.Next
		default:
			s.Status = "failed"
		}
		return false
	}, a)
}

// Drop records that delivery r was not made, not counting as an attempt:
// a.Error says why.
func (l Layout) Drop(tx kv.Tx, id string, ref []byte, r Record, a Attempt, into Dest) error {
	return l.settle(tx, id, ref, r, into, func(s *State) bool { s.Status = "dropped"; return false }, a)
}

// settle writes the outcome of attempt a on r, as decide sets it; gone
// disables the destination.
func (l Layout) settle(tx kv.Tx, id string, ref []byte, r Record, into Dest, decide func(*State) (gone bool), a Attempt) error {
	dk := l.destKey(id)
	ddata, err := tx.Get(dk)
	if fault.KindOf(err) == fault.NotFound {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	s := r.DeliveryState()
	at := a.At
	s.LastAt, s.LastStatus, s.LastError, s.NextAt = &at, a.Status, a.Error, nil
	if decide(s) {
		if err := json.Unmarshal(ddata, into); err != nil {
			return err
		}
		*into.Stopped() = "the receiver answered 410 Gone at " + at.UTC().Format(time.RFC3339)
		data, err := json.Marshal(into)
		if err != nil {
			return err
		}
		if err := tx.Set(dk, data); err != nil {
			return err
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.Set(l.deliveryKey(id, ref), data); err != nil {
		return err
	}
	if s.Status != "pending" {
		return tx.Delete(l.pendingKey(id, ref))
	}
	return nil
}
