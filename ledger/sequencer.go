package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
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

// errAbort aborts a group's transaction after apply failed on a prepared
// record, which should not happen; the group is retried without it.
var errAbort = errors.New("abort group")

// errRollback aborts a group's transaction in which a document (a
// submission with parts) had a part refused; the group is retried without
// the document, which is answered with the refusal.
var errRollback = errors.New("roll the document back")

// errGroupFull aborts a group's transaction that cannot take its next
// record (ErrTxnFull); the group is committed in two parts.
var errGroupFull = errors.New("group too large for one transaction")

// run is the sequencer: the ledger's only writer. It takes what is waiting,
// up to maxBatch submissions, and commits them as one group; the syncer
// makes the group durable and answers it while the next group is applied.
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

// more returns submissions to add to the group being applied while an
// earlier group is still being synced: the group's write could not reach
// badger before that sync ends anyway (badger's Sync holds the lock that
// every write takes), so waiting costs no latency, and one group per sync
// means one signed checkpoint and one write for all of them. It returns
// nil once nothing is waiting to be synced or the group is full.
func (l *Ledger) more(have int) []*submission {
	for have < l.maxBatch && l.unsynced.Load() > 0 && l.failure() == nil {
		select {
		case s := <-l.subs:
			got := []*submission{s}
		drain:
			for have+len(got) < l.maxBatch {
				select {
				case s := <-l.subs:
					got = append(got, s)
				default:
					break drain
				}
			}
			return got
		case <-l.syncFree:
		case <-l.quit:
			return nil
		}
	}
	return nil
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
// callers. A failed Sync stops writes (see fail).
func (l *Ledger) syncLoop() {
	defer close(l.synced)
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
		t0 := time.Now()
		err := l.store.Sync()
		l.stats.syncs.Add(1)
		l.stats.syncNanos.Add(int64(time.Since(t0)))
		l.unsynced.Add(-int32(len(batch)))
		select {
		case l.syncFree <- struct{}{}:
		default:
		}
		if err != nil {
			l.fail(err)
			err = l.failure()
		} else {
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

// commitGroup applies the group in order and commits it in one transaction
// with the hashes, state, indexes and the new signed checkpoint, then hands
// it to the syncer. Callers are answered only after it is durable.
//
// While an earlier group is being synced, a group that may grow takes in
// the submissions that arrive (see more).
func (l *Ledger) commitGroup(group []*submission, grow bool) {
	if err := l.failure(); err != nil {
		for _, s := range group {
			s.done <- result{err: err}
		}
		return
	}
	for {
		results := make([]result, len(group))
		dupOf := make(map[int]int)
		bad := -1
		var rollback error // errRollback: the refusal of the document at bad
		var head *signedHead
		var keysChanged bool
		var hashes *vlog.Group
		t0 := time.Now()
		err := l.store.Update(func(tx Tx) error {
			keysChanged = false
			hashes = l.frontier.Group(tx)
			st := &state{tx: tx, lots: &l.lots}
			size := l.applied
			first := size
			idemIndex := make(map[string]int)
			var accepted []int
			for i := 0; i < len(group); i++ {
				if i == len(group)-1 && grow {
					more := l.more(len(group))
					group = append(group, more...)
					results = append(results, make([]result, len(more))...)
				}
				s := group[i]
				var ik []byte
				if s.idem != "" {
					ik = idemKey(s.p.Key, s.idem)
					if j, ok := idemIndex[string(ik)]; ok {
						dupOf[i] = j
						continue
					}
					if r, err := replayIdem(tx, ik, s.bodyHash); err != nil || r != nil {
						results[i] = result{receipt: r, err: err}
						continue
					}
					idemIndex[string(ik)] = i
				}
				if s.parts != nil {
					for k, part := range s.parts {
						r, rejected, err := l.appendRecord(tx, st, part, size, hashes)
						switch {
						case errors.Is(err, ErrTxnFull) && i > 0:
							bad = i
							return errGroupFull
						case errors.Is(err, ErrTxnFull):
							bad, rollback = i, fault.Errorf(fault.TooLarge, "the document is too large to capture all or nothing; capture it in parts or with GS1-Capture-Error-Behaviour: proceed")
							return errRollback
						case err != nil:
							bad = i
							return err
						case rejected != nil:
							bad, rollback = i, AtEPCISEvent(k, rejected)
							return errRollback
						}
						keysChanged = keysChanged || r.keysChanged
						results[i].receipts = append(results[i].receipts, r.receipt)
						size++
					}
					accepted = append(accepted, i)
					continue
				}
				r, rejected, err := l.appendRecord(tx, st, s, size, hashes)
				if rejected != nil {
					results[i].err = rejected
					continue
				}
				if errors.Is(err, ErrTxnFull) {
					bad = i
					if i > 0 {
						return errGroupFull
					}
					l.log.Error("one record does not fit a transaction", "seq", size, "kind", s.ev.Kind)
					return errAbort
				}
				if err != nil {
					bad = i
					return err
				}
				keysChanged = keysChanged || r.keysChanged
				results[i].receipt = r.receipt
				accepted = append(accepted, i)
				size++
			}
			if size == first {
				return nil
			}
			root, err := tlog.TreeHash(size, hashes)
			if err != nil {
				return err
			}
			cp := vlog.Checkpoint{Origin: l.origin, Size: size, Root: root}
			signed, err := vlog.Sign(l.key.Signer, cp)
			if err != nil {
				return err
			}
			if err := vlog.PutCheckpoint(tx, size, signed); err != nil {
				return err
			}
			head = &signedHead{size: size, checkpoint: cp, note: signed}
			for _, i := range accepted {
				for _, r := range results[i].receipts {
					r.Checkpoint = treeHead(cp)
				}
				r := results[i].receipt
				if r == nil {
					continue
				}
				r.Checkpoint = treeHead(cp)
				if s := group[i]; s.idem != "" {
					if err := storeIdem(tx, idemKey(s.p.Key, s.idem), s.bodyHash, r); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if errors.Is(err, errGroupFull) || (errors.Is(err, ErrTxnFull) && len(group) > 1) {
			// Nothing was written: commit the group in two parts, in order.
			cut := len(group) / 2
			if errors.Is(err, errGroupFull) {
				cut = bad
			}
			l.commitGroup(group[:cut], false)
			l.commitGroup(group[cut:], false)
			return
		}
		if errors.Is(err, errAbort) || errors.Is(err, errRollback) {
			if rollback == nil {
				rollback = fault.Errorf(fault.Internal, "the ledger could not apply this event")
			}
			group[bad].done <- result{err: rollback}
			group = append(group[:bad:bad], group[bad+1:]...)
			if len(group) == 0 {
				return
			}
			grow = false
			continue
		}
		if errors.Is(err, ErrRefused) {
			// Nothing was written nor signed: answer and go on.
			for _, s := range group {
				s.done <- result{err: err}
			}
			return
		}
		if err != nil {
			// A failed commit leaves the store as it was, but this process
			// signed a checkpoint it never published. Stop writing so that it
			// can never sign a different tree of the same size; a restart
			// resumes from what is on disk.
			l.fail(err)
			for _, s := range group {
				s.done <- result{err: l.failure()}
			}
			return
		}
		l.stats.commitNanos.Add(int64(time.Since(t0)))
		if head != nil {
			l.stats.groups.Add(1)
			l.stats.records.Add(head.size - l.applied)
			l.applied = head.size
			l.frontier.Commit(hashes, head.size)
		}
		if keysChanged {
			l.principals.invalidate()
		}

		for i, j := range dupOf {
			r := results[j]
			if r.receipt != nil {
				c := *r.receipt
				c.Replayed = true
				r.receipt = &c
			}
			if r.err == nil && !bytes.Equal(group[i].bodyHash[:], group[j].bodyHash[:]) {
				r = result{err: idemConflict()}
			}
			results[i] = r
		}
		l.unsynced.Add(1)
		l.syncq <- &committedGroup{group: group, results: results, head: head}
		return
	}
}

// An appended record's receipt, and whether it changed keys.
type appended struct {
	receipt     *Receipt
	keysChanged bool
}

// appendRecord prepares s as the record at seq, applies it and appends it
// to the log in tx. A refusal of the submission (nothing written) comes
// back as rejected; err is ErrTxnFull (wrapped) when tx cannot take the
// record, errAbort when a prepared record did not apply.
func (l *Ledger) appendRecord(tx Tx, st *state, s *submission, seq int64, hashes *vlog.Group) (_ appended, rejected, err error) {
	rec, err := l.prepare(st, s, seq)
	if err != nil {
		return appended{}, err, nil
	}
	data, err := encodeRecord(rec)
	if err != nil {
		return appended{}, nil, errAbort
	}
	fx, err := applyRecord(tx, &l.lots, rec)
	if err == nil {
		err = vlog.Append(tx, seq, data, hashes)
	}
	if errors.Is(err, ErrTxnFull) {
		return appended{}, nil, err
	}
	if err != nil {
		l.log.Error("apply failed on a prepared record", "seq", seq, "kind", rec.Kind, "err", err)
		return appended{}, nil, errAbort
	}
	if s.keyHash != "" {
		if err := tx.Set(keyHashKey(s.keyHash), []byte(rec.Key)); err != nil {
			return appended{}, nil, err
		}
	}
	if err := s.writeAux(tx, rec); err != nil {
		return appended{}, nil, err
	}
	return appended{receipt: newReceipt(rec, fx), keysChanged: fx.keysChanged}, nil, nil
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

func idemKey(keyID, idem string) []byte {
	return key(prefixIdem, []byte(keyID), []byte{'/'}, []byte(idem))
}

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
