package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"coldtrace/ledger/fault"
)

// A submission is one request waiting for the sequencer.
type submission struct {
	p         Principal
	ev        Event
	idem      string   // Idempotency-Key, "" if none
	bodyHash  [32]byte // hash of the event as submitted, for idempotency
	bootstrap bool     // the first admin key of an empty ledger
	keyHash   string   // key_created: SHA-256 of the new key's secret
	annex     *Annex   // the note and people kept off the log (annex.go)
	system    bool     // written by the ledger itself (the transit sweep)
	// parts, when set, make this submission an all-or-nothing document
	// (CaptureAll): every part is recorded in the same commit, or none.
	parts []*submission
	done  chan result
}

type result struct {
	receipt  *Receipt
	receipts []*Receipt // a document's, one per part
	err      error
}

// run is the sequencer: the ledger's only writer. It takes what is waiting,
// up to maxBatch submissions, and commits them as one group; the syncer
// makes the group durable and answers it while the next groups are applied
// and committed.
func (l *Ledger) run() {
	defer func() {
		close(l.syncq)
		close(l.done)
	}()
	for {
		var group []*submission
		select {
		case s := <-l.subs:
			group = append(group, s)
		case <-l.quit:
			return
		}
	drain:
		for len(group) < l.maxBatch {
			select {
			case s := <-l.subs:
				group = append(group, s)
			default:
				break drain
			}
		}
		l.commitGroup(group, true)
	}
}

// A committedGroup is a group whose transaction is committed, waiting for
// the syncer to make it durable before its callers are answered and its
// checkpoint published.
type committedGroup struct {
	group   []*submission
	results []result
	head    *signedHead // nil when the group added no record
}

// syncLoop makes committed groups durable: one Sync for all the groups that
// are waiting, then it publishes the newest checkpoint and answers their
// callers. A failed Sync stops writes (see fail), and no group is
// acknowledged after it, not even one that the sequencer committed before
// the failure and a later Sync would report synced: after a failed sync
// the system may have dropped the pages it could not write.
func (l *Ledger) syncLoop() {
	defer close(l.synced)
	var failed error
	for g := range l.syncq {
		batch := []*committedGroup{g}
	drain:
		for {
			select {
			case more, ok := <-l.syncq:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		err := failed
		if err == nil {
			l.pace.syncing()
			t0 := time.Now()
			err = l.store.Sync()
			d := time.Since(t0)
			l.stats.syncs.Add(1)
			l.stats.syncNanos.Add(int64(d))
			l.pace.synced(len(batch), d)
		} else {
			l.pace.unsynced.Add(-int32(len(batch)))
		}
		if err != nil && failed == nil {
			l.fail(err)
			failed = l.failure()
			err = failed
		}
		if err == nil {
			for _, b := range batch {
				if b.head != nil {
					l.head.Store(b.head)
				}
			}
		}
		for _, b := range batch {
			for i, s := range b.group {
				if err != nil {
					s.done <- result{err: err}
				} else {
					s.done <- b.results[i]
				}
			}
		}
	}
}

// commitGroup commits the group and hands it to the syncer; callers are
// answered only after it is durable (syncLoop). It is the retry plan around
// applyGroup, which makes one attempt in one transaction:
//
//   - the transaction filled up at a submission: nothing was written; the
//     submissions before it are committed, then the rest (or, when the first
//     one filled it, the two halves), each as a group of its own;
//   - apply failed on a prepared record: nothing was written; that
//     submission is answered Internal and the group is tried without it;
//   - a part of a document was refused (errRollback): nothing was written;
//     the document is answered with the refusal and the group is tried
//     without it;
//   - the group was refused as a whole (ErrRefused): answered, nothing signed;
//   - any other failure stops writes (fail).
//
// A group that may grow takes in the submissions that arrive while it is
// applied, and while the pace lets it (see more).
func (l *Ledger) commitGroup(group []*submission, grow bool) {
	if err := l.failure(); err != nil {
		answerAll(group, err)
		return
	}
	for {
		t0 := time.Now()
		g, err := l.applyGroup(group, grow)
		group = g.group
		switch {
		case errors.Is(err, errGroupFull) || (errors.Is(err, ErrTxnFull) && len(group) > 1):
			cut := len(group) / 2
			if errors.Is(err, errGroupFull) {
				cut = g.bad
			}
			l.commitGroup(group[:cut], false)
			l.commitGroup(group[cut:], false)
			return
		case errors.Is(err, errAbort) || errors.Is(err, errRollback):
			answer := g.rollback
			if answer == nil {
				answer = fault.Errorf(fault.Internal, "the ledger could not apply this event")
			}
			group[g.bad].done <- result{err: answer}
			group = append(group[:g.bad:g.bad], group[g.bad+1:]...)
			if len(group) == 0 {
				return
			}
			grow = false
			continue
		case errors.Is(err, ErrRefused):
			answerAll(group, err)
			return
		case err != nil:
			// A failed commit leaves the store as it was, but this process
			// signed a checkpoint it never published. Stop writing so that it
			// can never sign a different tree of the same size; a restart
			// resumes from what is on disk.
			l.fail(err)
			answerAll(group, l.failure())
			return
		}
		l.stats.commitNanos.Add(int64(time.Since(t0)))
		if grow {
			l.pace.committedIn(time.Since(g.cut))
		}
		l.committed(g)
		return
	}
}

func answerAll(group []*submission, err error) {
	for _, s := range group {
		s.done <- result{err: err}
	}
}

// committed takes in a group whose transaction committed: the sequencer's
// tree size and frontier move on, cached principals are dropped if keys
// changed, repeated idempotency keys get their first one's answer, and the
// group goes to the syncer.
func (l *Ledger) committed(g *groupApply) {
	if g.head != nil {
		l.stats.groups.Add(1)
		l.stats.records.Add(g.head.size - l.applied)
		l.applied = g.head.size
		l.frontier.Commit(g.hashes, g.head.size)
	}
	if g.keysChanged {
		l.principals.invalidate()
	}
	for i, j := range g.dupOf {
		r := g.results[j]
		if r.receipt != nil {
			c := *r.receipt
			c.Replayed = true
			r.receipt = &c
		}
		if r.err == nil && !bytes.Equal(g.group[i].bodyHash[:], g.group[j].bodyHash[:]) {
			r = result{err: idemConflict()}
		}
		g.results[i] = r
	}
	l.pace.unsynced.Add(1)
	l.syncq <- &committedGroup{group: g.group, results: g.results, head: g.head}
}

// prepare validates s against current state and builds its record at seq.
func (l *Ledger) prepare(st *state, s *submission, seq int64) (*Record, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	now := l.now().UTC()
	rec := &Record{Seq: seq, ID: id.String(), RecordedAt: now, Actor: Actor{Org: s.p.Org, Key: s.p.Key}, Event: s.ev}
	if rec.At.IsZero() {
		rec.At = now
	}
	switch {
	case s.bootstrap:
		if seq != 0 {
			return nil, fault.Errorf(fault.Conflict, "the ledger is not empty; bootstrap only creates the first admin key")
		}
		rec.Actor = Actor{Key: "bootstrap"}
		rec.Key = uuid.NewString()
	case s.system:
		rec.Actor = Actor{Key: "system"}
	default:
		if err := kinds[s.ev.Kind].prepare(st, s.p, rec); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func newReceipt(rec *Record, fx *effects) *Receipt {
	r := &Receipt{
		Seq: rec.Seq, ID: rec.ID, Kind: rec.Kind, RecordedAt: rec.RecordedAt,
		CreatedLots: rec.CreatedLots, Findings: fx.findings, Registered: fx.registered,
	}
	if fx.lot != nil {
		r.Lot, r.TraceCode = fx.lot.ID, fx.lot.TraceCode
	}
	if rec.EPCIS != nil {
		r.EPCISEventID = rec.EPCIS.ID
	}
	if r.CreatedLots == nil {
		r.CreatedLots = []CreatedLot{}
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	return r
}

// Idempotency: a/idem/<key id>/<Idempotency-Key> holds the SHA-256 of the
// submitted event followed by the receipt's JSON.

func idemConflict() error {
	return fault.Errorf(fault.Conflict, "this Idempotency-Key was used with a different request")
}

func replayIdem(tx Tx, k []byte, bodyHash [32]byte) (*Receipt, error) {
	v, err := tx.Get(k)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(v) < 32 || !bytes.Equal(v[:32], bodyHash[:]) {
		return nil, idemConflict()
	}
	var r Receipt
	if err := json.Unmarshal(v[32:], &r); err != nil {
		return nil, fault.Wrap(fault.Tampered, "stored receipt does not decode", err)
	}
	r.Replayed = true
	return &r, nil
}

func storeIdem(tx Tx, k []byte, bodyHash [32]byte, r *Receipt) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Set(k, append(bodyHash[:len(bodyHash):len(bodyHash)], data...))
}

// eventHash is the idempotency hash of an event as submitted.
func eventHash(ev Event) [32]byte {
	data, _ := json.Marshal(ev)
	return sha256.Sum256(data)
}

// maxSkew is how far in the future an event's time may lie (clock skew).
const maxSkew = 5 * time.Minute
