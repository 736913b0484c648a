package ledger

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// A VerifyReport says what Verify checked.
type VerifyReport struct {
	Size        int64 // records in the log
	Checkpoints int64 // signed checkpoints checked against the recomputed tree
	StateKeys   int64 // derived-state entries compared with a replay
	// LogTime is how long the log check took (records, hashes,
	// checkpoints), StateTime the replay and comparison of the derived
	// state (zero for VerifyLog).
	LogTime, StateTime time.Duration
}

// Progress is told how far a long check has got: stage names what is being
// done, done of total units.
type Progress func(stage string, done, total int64)

// VerifyOptions tune Verify and VerifyLog; nil means the defaults.
type VerifyOptions struct {
	// Progress, if not nil, is told how far the check has got.
	Progress Progress
	// Decode decodes each record's bytes (encoding/json's Unmarshal when
	// nil). The centre imports no JSON library but the standard one;
	// `coldtrace verify` passes github.com/goccy/go-json's Unmarshal, five
	// times faster on records. Whatever decodes, a record passes only when
	// encoding/json re-encodes what was decoded to its stored bytes
	// exactly (decodeCanonical); other bytes get the encoding/json check
	// alone, so the decoder changes the speed of the check, not what it
	// accepts. Verify decodes every record, once, in its replay; VerifyLog
	// only a record whose hash is not the stored one.
	Decode JSONDecoder
}

// progress returns o's Progress, or one that does nothing.
func (o *VerifyOptions) progress() Progress {
	if o == nil || o.Progress == nil {
		return func(string, int64, int64) {}
	}
	return o.Progress
}

// decoder returns o's Decode (nil for encoding/json's).
func (o *VerifyOptions) decoder() JSONDecoder {
	if o == nil {
		return nil
	}
	return o.Decode
}

// Verify checks a ledger's store from scratch, offline: the log as
// VerifyLog checks it (every record hashed, every stored Merkle hash
// compared with the recomputed tree, every signed checkpoint checked with
// the verifier and against it), then every record decoded and checked to
// be the record its place says, in the canonical encoding, and the derived
// state rebuilt by replaying the records into scratch (an empty Store) and
// compared entry by entry with the stored state (but for entries under a
// retired prefix, keys.go, which older code wrote and no record gives
// now, and for root-region entries still without their batch's summary
// in a ledger whose next open fills them in: migrate.go). It stops at the first problem, a Tampered *Error whose message
// starts with the first bad record index where there is one.
func Verify(ctx context.Context, store, scratch Store, verifier note.Verifier, opts *VerifyOptions) (*VerifyReport, error) {
	progress, decode := opts.progress(), opts.decoder()
	rep := &VerifyReport{}
	err := store.View(ctx, func(tx Tx) error {
		size, err := vlog.TreeSize(tx)
		if err != nil {
			return err
		}
		rep.Size = size
		start := time.Now()
		if err := verifyLog(ctx, tx, size, verifier, rep, progress, decode); err != nil {
			return err
		}
		rep.LogTime = time.Since(start)
		start = time.Now()
		if err := replay(ctx, tx, size, scratch, progress, decode); err != nil {
			return err
		}
		err = compareState(ctx, tx, scratch, rep, progress)
		rep.StateTime = time.Since(start)
		return err
	})
	return rep, err
}

// VerifyLog checks the log alone, on every core: every record is read and
// hashed, the tree is recomputed and every stored hash compared with it,
// and every signed checkpoint is checked with the verifier and against the
// recomputed tree. It proves that the records are the bytes the log
// signed, in their order; it decodes only a record whose hash is not the
// stored one, to say what is wrong with it. That every record decodes, is
// the record its place says and is in the canonical encoding, and that
// the derived state (what the queries answer from) follows from the
// records, Verify proves.
func VerifyLog(ctx context.Context, store Store, verifier note.Verifier, opts *VerifyOptions) (*VerifyReport, error) {
	progress, decode := opts.progress(), opts.decoder()
	rep := &VerifyReport{}
	err := store.View(ctx, func(tx Tx) error {
		size, err := vlog.TreeSize(tx)
		if err != nil {
			return err
		}
		rep.Size = size
		start := time.Now()
		err = verifyLog(ctx, tx, size, verifier, rep, progress, decode)
		rep.LogTime = time.Since(start)
		return err
	})
	return rep, err
}

// verifyLog checks the log alone (vlog.Verify). A record whose hash is not
// the stored one is explained by checkRecord where it can be (it does not
// decode, is not in the canonical encoding, or says it is another record).
func verifyLog(ctx context.Context, tx Tx, size int64, verifier note.Verifier, rep *VerifyReport, progress Progress, decode JSONDecoder) error {
	explain := func(seq int64, v []byte) error { _, err := checkRecord(seq, v, decode); return err }
	n, err := vlog.Verify(ctx, tx, size, verifier, explain, func(done, total int64) { progress("log", done, total) })
	rep.Checkpoints = n
	return err
}

// checkRecord decodes v and checks that it is record seq and in the
// canonical encoding. Records in the canonical encoding (all of them, in a
// ledger that is not tampered with) are checked by decodeCanonical; any
// other bytes by encoding/json alone, which says what is wrong.
func checkRecord(seq int64, v []byte, decode JSONDecoder) (*Record, error) {
	if rec, ok := decodeCanonical(v, decode); ok {
		if rec.Seq != seq {
			return nil, badRecord(seq, "says it is record %d", rec.Seq)
		}
		return rec, nil
	}
	rec, err := DecodeRecord(v)
	if err != nil {
		return nil, badRecord(seq, "%v", err)
	}
	if rec.Seq != seq {
		return nil, badRecord(seq, "says it is record %d", rec.Seq)
	}
	if enc, err := encodeRecord(rec); err != nil || !bytes.Equal(enc, v) {
		return nil, badRecord(seq, "is not in the ledger's canonical encoding")
	}
	return rec, nil
}

func badRecord(seq int64, format string, args ...any) error {
	return fault.Errorf(fault.Tampered, "record %d: %s", seq, fmt.Sprintf(format, args...))
}

// compareState checks that the stored derived state equals the replayed one:
// the two are scanned in key order side by side (the replayed one by a
// goroutine of its own), so that every entry is read once and none is
// looked up.
func compareState(ctx context.Context, tx Tx, scratch Store, rep *VerifyReport, progress Progress) error {
	type entry struct{ k, v []byte }
	chunks := make(chan []entry, 8)
	stop := make(chan struct{})
	var replayErr error
	go func() {
		defer close(chunks)
		replayErr = scratch.View(ctx, func(stx Tx) error {
			chunk := make([]entry, 0, 256)
			send := func() bool {
				select {
				case chunks <- chunk:
					chunk = make([]entry, 0, 256)
					return true
				case <-stop:
					return false
				}
			}
			err := stx.Scan(prefixState, nil, false, func(k, v []byte) error {
				chunk = append(chunk, entry{bytes.Clone(k), bytes.Clone(v)})
				if len(chunk) == cap(chunk) && !send() {
					return fault.ErrStop
				}
				return nil
			})
			if err == nil && len(chunk) > 0 {
				send()
			}
			return err
		})
	}()
	defer func() {
		close(stop)
		for range chunks {
		}
	}()
	var pending []entry
	head := func() *entry {
		for len(pending) == 0 {
			c, ok := <-chunks
			if !ok {
				return nil
			}
			pending = c
		}
		return &pending[0]
	}
	missing := func(k []byte) error {
		return fault.Errorf(fault.Tampered, "state entry %q that the records give is missing", k)
	}
	// A before-image is compared against its lot (sameStateValue); only
	// entries in the encoding of ledgers before issue 17 need it.
	storedLot := func(id string) []byte {
		data, _ := tx.Get(tabLot.key(id))
		return data
	}
	replayedLot := func(id string) (data []byte) {
		scratch.View(ctx, func(stx Tx) error {
			data, _ = stx.Get(tabLot.key(id))
			return nil
		})
		return data
	}
	unfilled, err := rootRegionUnfilled(tx)
	if err != nil {
		return err
	}
	var n int64
	err = tx.Scan(prefixState, nil, false, func(k, v []byte) error {
		if retired(k) {
			return nil // left by older code, which wrote it; no record gives it now
		}
		want := head()
		switch {
		case want == nil && replayErr != nil:
			return replayErr // the replayed scan ended on an error
		case want != nil && bytes.Compare(want.k, k) < 0:
			return missing(want.k)
		case want == nil || !bytes.Equal(want.k, k):
			return fault.Errorf(fault.Tampered, "state entry %q is not derived from any record", k)
		case !bytes.Equal(want.v, v) && !sameStateValue(k, v, want.v, storedLot, replayedLot) && !(unfilled && unfilledRootRegion(k, v)):
			return fault.Errorf(fault.Tampered, "state entry %q differs from the state the records give", k)
		}
		pending = pending[1:]
		n++
		if n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			progress("state", n, 0)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if want := head(); want != nil {
		return missing(want.k)
	}
	if replayErr != nil { // read after chunks closed: the scan is over
		return replayErr
	}
	rep.StateKeys = n
	return nil
}
