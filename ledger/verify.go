package ledger

import (
	"bytes"
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// A VerifyReport says what Verify checked.
type VerifyReport struct {
	Size        int64 // records in the log
	Checkpoints int64 // signed checkpoints checked against the recomputed tree
	StateKeys   int64 // derived-state entries compared with a replay
}

// Progress is told how far a long check has got: stage names what is being
// done, done of total units.
type Progress func(stage string, done, total int64)

// Verify checks a ledger's store from scratch, offline: every record is read,
// decoded and re-hashed, and every stored Merkle hash is compared with the
// recomputed one; every signed checkpoint is checked with the verifier and
// against the recomputed tree; the derived state is rebuilt by replaying the
// records into scratch (an empty Store) and compared entry by entry with
// the stored state. It stops at the first problem, a Tampered *Error whose
// message starts with the first bad record index where there is one.
func Verify(ctx context.Context, store, scratch Store, verifier note.Verifier, progress Progress) (*VerifyReport, error) {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	rep := &VerifyReport{}
	err := store.View(ctx, func(tx Tx) error {
		size, err := vlog.TreeSize(tx)
		if err != nil {
			return err
		}
		rep.Size = size
		if err := verifyLog(ctx, tx, size, verifier, rep, progress); err != nil {
			return err
		}
		if err := replay(ctx, tx, size, scratch, progress); err != nil {
			return err
		}
		return compareState(ctx, tx, scratch, rep, progress)
	})
	return rep, err
}

func badRecord(seq int64, format string, args ...any) error {
	return fault.Errorf(fault.Tampered, "record %d: %s", seq, fmt.Sprintf(format, args...))
}

// verifyLog recomputes the tree from the record bytes alone, compares every
// stored hash and checks every signed checkpoint.
func verifyLog(ctx context.Context, tx Tx, size int64, verifier note.Verifier, rep *VerifyReport, progress Progress) error {
	var hashes []tlog.Hash // recomputed, by stored-hash index
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	stored := vlog.HashReader(tx)
	// Checkpoints, in size order, are checked as the recomputation passes them.
	cps, err := vlog.Checkpoints(tx)
	if err != nil {
		return err
	}
	checkCheckpoint := func(n int64) error {
		msg, err := vlog.ReadCheckpoint(tx, n)
		if err != nil {
			return err
		}
		cp, err := vlog.OpenCheckpoint(msg, verifier)
		if err != nil {
			return fault.Errorf(fault.Tampered, "checkpoint at size %d: %v", n, err)
		}
		root, err := tlog.TreeHash(n, hr)
		if err != nil {
			return err
		}
		if cp.Size != n || cp.Root != root {
			return fault.Errorf(fault.Tampered, "checkpoint at size %d: signed root differs from the root the records give; a record below index %d was altered", n, n)
		}
		rep.Checkpoints++
		return nil
	}
	seq := int64(0)
	err = vlog.ScanRecords(tx, 0, func(got int64, v []byte) error {
		if got != seq {
			if got >= size {
				return fault.Errorf(fault.Tampered, "record %d lies beyond the signed tree of size %d", got, size)
			}
			return badRecord(seq, "missing")
		}
		if seq%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			progress("log", seq, size)
		}
		rec, err := DecodeRecord(v)
		if err != nil {
			return badRecord(seq, "%v", err)
		}
		if rec.Seq != seq {
			return badRecord(seq, "says it is record %d", rec.Seq)
		}
		if enc, err := encodeRecord(rec); err != nil || !bytes.Equal(enc, v) {
			return badRecord(seq, "is not in the ledger's canonical encoding")
		}
		add, err := tlog.StoredHashes(seq, v, hr)
		if err != nil {
			return err
		}
		base := tlog.StoredHashIndex(0, seq)
		for i, h := range add {
			idx := base + int64(i)
			if int64(len(hashes)) != idx {
				return fmt.Errorf("internal: hash index %d, have %d", idx, len(hashes))
			}
			got, err := stored.ReadHashes([]int64{idx})
			if err != nil {
				return badRecord(seq, "%v", err)
			}
			if got[0] != h {
				return badRecord(seq, "stored Merkle hash %d differs from the hash of the stored bytes", idx)
			}
			hashes = append(hashes, h)
		}
		seq++
		for len(cps) > 0 && cps[0] <= seq {
			if cps[0] == seq {
				if err := checkCheckpoint(seq); err != nil {
					return err
				}
			}
			cps = cps[1:]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if seq != size {
		return badRecord(seq, "missing (the signed tree has %d records)", size)
	}
	if len(cps) > 0 {
		return fault.Errorf(fault.Tampered, "checkpoint at size %d lies beyond the log", cps[0])
	}
	progress("log", size, size)
	return nil
}

// replay applies every record to scratch, in groups of replayBatch records
// per transaction.
func replay(ctx context.Context, tx Tx, size int64, scratch Store, progress Progress) error {
	const replayBatch = 256
	batch := make([][]byte, 0, replayBatch)
	seq := int64(0)
	flush := func() error {
		err := scratch.Update(ctx, func(stx Tx) error {
			for i, data := range batch {
				rec, err := DecodeRecord(data)
				if err != nil {
					return err
				}
				if _, err := applyRecord(stx, nil, rec); err != nil {
					return badRecord(seq+int64(i), "does not apply to the state before it: %v", err)
				}
			}
			return nil
		})
		seq += int64(len(batch))
		batch = batch[:0]
		progress("replay", seq, size)
		return err
	}
	err := vlog.ScanRecords(tx, 0, func(_ int64, v []byte) error {
		batch = append(batch, bytes.Clone(v))
		if len(batch) == replayBatch {
			if err := ctx.Err(); err != nil {
				return err
			}
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	return err
}

// compareState checks that the stored derived state equals the replayed one.
func compareState(ctx context.Context, tx Tx, scratch Store, rep *VerifyReport, progress Progress) error {
	return scratch.View(ctx, func(stx Tx) error {
		var n int64
		err := tx.Scan(prefixState, nil, false, func(k, v []byte) error {
			want, err := stx.Get(k)
			if fault.KindOf(err) == fault.NotFound {
				return fault.Errorf(fault.Tampered, "state entry %q is not derived from any record", k)
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(want, v) {
				return fault.Errorf(fault.Tampered, "state entry %q differs from the state the records give", k)
			}
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
		// Every replayed entry must be stored too (the scan above matched
		// stored entries to replayed ones, not the other way round).
		if err := stx.Scan(prefixState, nil, false, func(k, _ []byte) error {
			if _, err := tx.Get(k); fault.KindOf(err) == fault.NotFound {
				return fault.Errorf(fault.Tampered, "state entry %q that the records give is missing", k)
			} else if err != nil {
				return err
			}
			return nil
		}); err != nil {
			return err
		}
		rep.StateKeys = n
		return nil
	})
}
