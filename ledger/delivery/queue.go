// Package delivery is the at-least-once delivery machinery the ledger's
// subscriptions share: destinations, each with a fan-out cursor and a
// queue of deliveries, the due index the worker reads, the bookkeeping of
// each attempt, the retry schedule, and a destination disabled when its
// receiver answers 410 Gone. It works on a kv.Tx and knows nothing of lots,
// findings or EPCIS: what is enqueued for whom, and what a destination and
// a delivery hold beyond their State, are the ledger's.
//
// The keys are the ledger's (a Layout of four prefixes) and the values are
// the ledger's records, encoded as JSON: this package reads and writes
// them byte for byte as the code before it did.
package delivery

import (
	"bytes"
	"encoding/json"
	"net/url"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/kv"
)

// A Layout places one kind of destination and its deliveries in the store.
type Layout struct {
	Dests      []byte // <dest id>: the destination (JSON)
	Cursors    []byte // <dest id>: where its fan-out has got to (the ledger's bytes)
	Deliveries []byte // <dest id>/<ref>: a delivery (JSON)
	// Pending is the due index: <dest id>/<ref> while a delivery is still
	// to make, or <ref><dest id> when RefLen is set.
	Pending []byte
	// RefLen, when not 0, is the fixed length of every ref, and the due
	// index is ordered by ref first, so that the deliveries of the same ref
	// to every destination are read together.
	RefLen int
}

// ValidURL reports whether s may be where a destination's deliveries are
// posted: an http or https URL with a host, at most 2,000 bytes.
func ValidURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2000
}

// A Dest is a destination as the ledger keeps it.
type Dest interface {
	// Stopped is where it keeps why its deliveries stopped ("" while they
	// go on).
	Stopped() *string
}

// A Record is a delivery as the ledger keeps it: its State and what the
// ledger adds.
type Record interface {
	DeliveryState() *State
}

// State is the bookkeeping of a delivery, as its JSON has always carried it.
type State struct {
	Status     string     `json:"status"` // pending, delivered, failed, disabled, dropped
	Attempts   int        `json:"attempts"`
	NextAt     *time.Time `json:"next_at,omitempty"`
	LastAt     *time.Time `json:"last_at,omitempty"`
	LastStatus int        `json:"last_status,omitempty"` // HTTP status of the last attempt
	LastError  string     `json:"last_error,omitempty"`
	Delivered  *time.Time `json:"delivered_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Pending is the State of a new delivery, due at now.
func Pending(now time.Time) State {
	at := now
	return State{Status: "pending", NextAt: &at, CreatedAt: now}
}

func join(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

func (l Layout) destKey(id string) []byte   { return join(l.Dests, []byte(id)) }
func (l Layout) cursorKey(id string) []byte { return join(l.Cursors, []byte(id)) }
func (l Layout) deliveryKey(id string, ref []byte) []byte {
	return join(l.Deliveries, []byte(id+"/"), ref)
}

func (l Layout) pendingKey(id string, ref []byte) []byte {
	if l.RefLen > 0 {
		return join(l.Pending, ref, []byte(id))
	}
	return join(l.Pending, []byte(id+"/"), ref)
}

// splitPending returns the destination and ref of a due index key.
func (l Layout) splitPending(k []byte) (string, []byte) {
	rest := k[len(l.Pending):]
	if l.RefLen > 0 {
		return string(rest[l.RefLen:]), bytes.Clone(rest[:l.RefLen])
	}
	i := bytes.IndexByte(rest, '/')
	return string(rest[:i]), bytes.Clone(rest[i+1:])
}

// Create stores a new destination and its cursor.
func (l Layout) Create(tx kv.Tx, id string, d Dest, cursor []byte) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := tx.Set(l.destKey(id), data); err != nil {
		return err
	}
	return tx.Set(l.cursorKey(id), cursor)
}

// Dest reads destination id into d; a missing one is a NotFound error.
func (l Layout) Dest(tx kv.Tx, id string, d Dest) error {
	data, err := tx.Get(l.destKey(id))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, d)
}

// EachDest calls fn with each destination's JSON, in id order.
func (l Layout) EachDest(tx kv.Tx, fn func(data []byte) error) error {
	return tx.Scan(l.Dests, nil, false, func(_, v []byte) error { return fn(v) })
}

// Cursor returns where destination id's fan-out has got to.
func (l Layout) Cursor(tx kv.Tx, id string) ([]byte, error) { return tx.Get(l.cursorKey(id)) }

// SetCursor moves destination id's fan-out cursor.
func (l Layout) SetCursor(tx kv.Tx, id string, cursor []byte) error {
	return tx.Set(l.cursorKey(id), cursor)
}

// Delete removes destination id, its cursor and all its deliveries.
func (l Layout) Delete(tx kv.Tx, id string) error {
	ks := [][]byte{l.destKey(id), l.cursorKey(id)}
	pre := l.deliveryKey(id, nil)
	if err := tx.Scan(pre, nil, false, func(k, _ []byte) error {
		ks = append(ks, bytes.Clone(k), l.pendingKey(id, k[len(pre):]))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range ks {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Enqueue stores delivery r of ref to destination id and puts it in the due
// index.
func (l Layout) Enqueue(tx kv.Tx, id string, ref []byte, r Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.Set(l.deliveryKey(id, ref), data); err != nil {
		return err
	}
	return tx.Set(l.pendingKey(id, ref), nil)
}

// List calls fn with the JSON of destination id's deliveries, newest ref
// first, at most limit.
func (l Layout) List(tx kv.Tx, id string, limit int, fn func(data []byte) error) error {
	n := 0
	return tx.Scan(l.deliveryKey(id, nil), nil, true, func(_, v []byte) error {
		if n >= limit {
			return fault.ErrStop
		}
		n++
		return fn(v)
	})
}

// Due walks l's due index and calls take with each delivery due at now
// (its ref and the record, decoded) whose destination open accepts, until
// take has taken limit of them. take reports whether it took the delivery.
func Due[R any, P interface {
	*R
	Record
}](l Layout, tx kv.Tx, now time.Time, limit int, open func(id string) (bool, error), take func(id string, ref []byte, r P) (bool, error)) error {
	n := 0
	return tx.Scan(l.Pending, nil, false, func(k, _ []byte) error {
		if n >= limit {
			return fault.ErrStop
		}
		id, ref := l.splitPending(k)
		if ok, err := open(id); err != nil || !ok {
			return err
		}
		data, err := tx.Get(l.deliveryKey(id, ref))
		if err != nil {
			return err
		}
		r := P(new(R))
		if err := json.Unmarshal(data, r); err != nil {
			return err
		}
		if at := r.DeliveryState().NextAt; at != nil && at.After(now) {
			return nil
		}
		took, err := take(id, ref, r)
		if took {
			n++
		}
		return err
	})
}
