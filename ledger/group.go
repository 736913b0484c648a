package ledger

import (
	"context"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// errAbort aborts a group's transaction after apply failed on a prepared
// record: the group is tried again without it (commitGroup).
var errAbort = errors.New("abort group")

// errRollback aborts a group's transaction in which a document (a
// submission with parts) had a part refused: the group is tried again
// without the document, which is answered with g.rollback (commitGroup).
var errRollback = errors.New("roll the document back")

// errGroupFull aborts a group's transaction that cannot take its next
// submission: the group is committed in parts (commitGroup).
var errGroupFull = errors.New("group too large for one transaction")

// A groupApply is one attempt to apply a group in one transaction: the
// answers it prepared, what it wrote, and where it stopped if it did not
// finish.
type groupApply struct {
	group       []*submission // with what it took in while growing
	results     []result      // by submission
	dupOf       map[int]int   // a repeated idempotency key -> the submission that had it first
	bad         int           // the submission that filled or failed the transaction
	head        *signedHead   // the new checkpoint; nil when no record was added
	keysChanged bool          // an API key was written
	hashes      *vlog.Group   // the Merkle hashes the group added
	rollback    error         // errRollback: the refusal of the document at bad
	cut         time.Time     // when it took in its last submission
}

// applyGroup applies group in order in one Store transaction, with the
// hashes, state, indexes, idempotency receipts and the new signed
// checkpoint. A submission the rules refuse is answered with its error and
// adds nothing; the others become records. When grow is set, the group
// takes in what arrives while it is applied (see more). On errGroupFull or
// errAbort or errRollback nothing was written and g.bad names the
// submission at fault.
func (l *Ledger) applyGroup(group []*submission, grow bool) (*groupApply, error) {
	g := &groupApply{group: group, results: make([]result, len(group)), dupOf: map[int]int{}, bad: -1}
	err := l.store.Update(context.Background(), func(tx Tx) error {
		g.keysChanged = false
		g.hashes = l.frontier.Group(tx)
		st := &state{tx: tx, lots: &l.lots}
		size := l.applied
		first := size
		idemIndex := make(map[string]int)
		var accepted []int
		for i := 0; i < len(g.group); i++ {
			if i == len(g.group)-1 && grow {
				more := l.more(len(g.group))
				g.group = append(g.group, more...)
				g.results = append(g.results, make([]result, len(more))...)
			}
			s := g.group[i]
			if s.idem != "" {
				ik := idemKey(s.p.Key, s.idem)
				if j, ok := idemIndex[string(ik)]; ok {
					g.dupOf[i] = j
					continue
				}
				if r, err := replayIdem(tx, ik, s.bodyHash); err != nil || r != nil {
					g.results[i] = result{receipt: r, err: err}
					continue
				}
				idemIndex[string(ik)] = i
			}
			n, err := l.applySubmission(st, g, i, size)
			if err != nil {
				return err
			}
			if n > 0 {
				accepted = append(accepted, i)
				size += n
			}
		}
		g.cut = time.Now()
		if size == first {
			return nil
		}
		return l.signGroup(tx, g, size, accepted)
	})
	return g, err
}

// applySubmission applies submission i of g as the records from seq on
// and reports how many it added. A refusal by the rules is the
// submission's answer, not an error of the group; a document (a
// submission with parts) is recorded whole or, when a part is refused or
// does not fit one transaction, rolls the group back (errRollback).
func (l *Ledger) applySubmission(st *state, g *groupApply, i int, seq int64) (int64, error) {
	s := g.group[i]
	if s.parts == nil {
		r, n, rejected, err := l.appendCaptured(st, g, s, seq)
		switch {
		case rejected != nil && r != nil:
			// The captured event's domain effect was refused after the
			// captured record was written: neither is kept.
			g.bad, g.rollback = i, rejected
			return 0, errRollback
		case rejected != nil:
			g.results[i].err = rejected
			return 0, nil
		case errors.Is(err, ErrTxnFull) && i > 0:
			g.bad = i
			return 0, errGroupFull
		case errors.Is(err, ErrTxnFull):
			l.log.Error("one record does not fit a transaction", "seq", seq, "kind", s.ev.Kind)
			g.bad = i
			return 0, errAbort
		case err != nil:
			g.bad = i
			return 0, err
		}
		g.results[i].receipt = r
		return n, nil
	}
	added := int64(0)
	for k, part := range s.parts {
		r, n, rejected, err := l.appendCaptured(st, g, part, seq+added)
		switch {
		case errors.Is(err, ErrTxnFull) && i > 0:
			g.bad = i
			return 0, errGroupFull
		case errors.Is(err, ErrTxnFull):
			g.bad, g.rollback = i, fault.Errorf(fault.TooLarge, "the document is too large to capture all or nothing; capture it in parts or with GS1-Capture-Error-Behaviour: proceed")
			return 0, errRollback
		case err != nil:
			g.bad = i
			return 0, err
		case rejected != nil:
			g.bad, g.rollback = i, AtEPCISEvent(k, rejected)
			return 0, errRollback
		}
		g.results[i].receipts = append(g.results[i].receipts, r)
		added += n
	}
	return added, nil
}

// appendRecord prepares s as the record at seq, applies it and appends it
// to the log. A refusal of the submission (nothing written) comes back as
// rejected; err is ErrTxnFull (wrapped) when the transaction cannot take
// the record, errAbort when a prepared record did not apply.
func (l *Ledger) appendRecord(st *state, g *groupApply, s *submission, seq int64) (_ *Receipt, rejected, err error) {
	tx := st.tx
	rec, err := l.prepare(st, s, seq)
	if err != nil {
		return nil, err, nil
	}
	data, err := encodeRecord(rec)
	if err != nil {
		return nil, nil, errAbort
	}
	// The annex and its pseudonyms first: the alerts a record opens name
	// the people of the record itself (people_findings.go).
	if err := s.writeAux(tx, rec); err != nil {
		return nil, nil, err
	}
	fx, err := applyRecord(tx, &l.lots, rec)
	if err == nil {
		err = vlog.Append(tx, seq, data, g.hashes)
	}
	if errors.Is(err, ErrTxnFull) {
		return nil, nil, err
	}
	if err != nil {
		l.log.Error("apply failed on a prepared record", "seq", seq, "kind", rec.Kind, "err", err)
		return nil, nil, errAbort
	}
	if s.keyHash != "" {
		if err := tx.Set(keyHashKey(s.keyHash), []byte(rec.Key)); err != nil {
			return nil, nil, err
		}
	}
	g.keysChanged = g.keysChanged || fx.keysChanged
	return newReceipt(rec, fx), nil, nil
}

// signGroup signs the checkpoint of the tree of size size that the group
// grew, stores it, and stamps it, with the idempotency receipts, on the
// accepted submissions' receipts.
func (l *Ledger) signGroup(tx Tx, g *groupApply, size int64, accepted []int) error {
	root, err := tlog.TreeHash(size, g.hashes)
	if err != nil {
		return err
	}
	cp := vlog.Checkpoint{Origin: l.origin, Size: size, Root: root}
	signed, err := vlog.Sign(l.signer, cp)
	if err != nil {
		return err
	}
	if err := vlog.PutCheckpoint(tx, size, signed); err != nil {
		return err
	}
	g.head = &signedHead{size: size, checkpoint: cp, note: signed}
	for _, i := range accepted {
		for _, r := range g.results[i].receipts {
			r.Checkpoint = treeHead(cp)
			if r.Effect != nil {
				r.Effect.Checkpoint = treeHead(cp)
			}
		}
		r := g.results[i].receipt
		if r == nil {
			continue
		}
		r.Checkpoint = treeHead(cp)
		if r.Effect != nil {
			r.Effect.Checkpoint = treeHead(cp)
		}
		if s := g.group[i]; s.idem != "" {
			if err := storeIdem(tx, idemKey(s.p.Key, s.idem), s.bodyHash, r); err != nil {
				return err
			}
		}
	}
	return nil
}
