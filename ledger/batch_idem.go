package ledger

import (
	"coldtrace/ledger/fault"
	"context"
	"crypto/sha256"
)

// Idempotent batches reuse the Idempotency-Key records of single events
// (a/idem/<key id>/<key>, see storeIdem): a batch line that carries a key is
// recorded, replayed and refused like an event sent alone with that key.
//
// A line keyed by its batch (IdemScope set: the caller derives the line's
// key from the batch's Idempotency-Key and the line's place) is hashed
// together with the scope, a digest of the whole batch body, so that a
// retry of the same body replays every recorded line and a different body
// under the same key conflicts on every recorded line; BatchConflict finds
// that before anything of the different body is recorded.

// bind applies the submission's idempotency key, and its scope if any, to s.
func (b Submission) bind(s *submission) {
	if s.idem == "" || b.IdemScope == nil {
		return
	}
	h := sha256.New()
	h.Write(b.IdemScope)
	h.Write(s.bodyHash[:])
	copy(s.bodyHash[:], h.Sum(nil))
}

// BatchConflict returns a Conflict error when a line of batch that is keyed
// by its batch (IdemScope set) was recorded before under the same key with
// a different batch body. Lines that do not check out are skipped: they
// would not be recorded either.
func (l *Ledger) BatchConflict(ctx context.Context, batch []Submission) error {
	return l.store.View(ctx, func(tx Tx) error {
		for _, b := range batch {
			if b.Err != nil || b.Idem == "" || b.IdemScope == nil {
				continue
			}
			s, err := l.newSubmission(b.Principal, b.Event, b.Idem)
			if err != nil {
				continue
			}
			b.bind(s)
			if _, err := replayIdem(tx, idemKey(s.p.Key, s.idem), s.bodyHash); err != nil {
				if fault.KindOf(err) == fault.Conflict {
					return fault.Errorf(fault.Conflict, "this Idempotency-Key was used with a different batch")
				}
				return err
			}
		}
		return nil
	})
}
