package ledger

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// Verify without reading. The log's hashes, checkpoints and consistency
// proofs are public; a record's body and its inclusion proof are shown only
// to a key that may read the record, by the rule GET /v1/events/{seq}
// follows (state.recordVisible): auditors and admins read all, regulators
// the records about lots and sites in their regions, an org the records
// it is party to.

// ReadableRecords calls fn with the stored bytes of each record in
// start..end-1 that p may read, in order, from one snapshot, and returns how
// many it skipped. The bytes are valid only during the call.
func (l *Ledger) ReadableRecords(ctx context.Context, p Principal, start, end int64, fn func(seq int64, data []byte) error) (skipped int64, err error) {
	err = l.view(ctx, func(st *state) error {
		return vlog.ScanRecords(st.tx, start, func(seq int64, v []byte) error {
			if seq >= end {
				return fault.ErrStop
			}
			if !p.readsAll() {
				rec, err := DecodeRecord(v)
				if err != nil {
					return err
				}
				ok, err := st.recordVisible(p, rec)
				if err != nil {
					return err
				}
				if !ok {
					skipped++
					return nil
				}
			}
			return fn(seq, v)
		})
	})
	return skipped, err
}

// ProveInclusionTo proves record seq in the tree of size size, if p may
// read the record: the proof names the record's hash, which anyone holding
// the record body could check, so it is shown to its readers only.
func (l *Ledger) ProveInclusionTo(ctx context.Context, p Principal, seq, size int64) (*vlog.InclusionProof, error) {
	if err := l.checkSize(size); err != nil {
		return nil, err
	}
	if seq < 0 || seq >= size {
		return nil, fault.InvalidField("seq", "must be at least 0 and below size %d", size)
	}
	if !p.readsAll() {
		if _, _, err := l.Event(ctx, p, seq); err != nil {
			return nil, err
		}
	}
	return l.ProveInclusion(ctx, seq, size)
}

// TileHeight is the height of the hash tiles the log serves, as in the Go
// checksum database.
const TileHeight = 8

// Tile returns the hashes of a tlog hash tile (golang.org/x/mod/sumdb/tlog),
// read from the stored hashes. Only hash tiles inside the current tree are
// served: data tiles (level -1) would be the records themselves.
func (l *Ledger) Tile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	if t.H != TileHeight {
		return nil, fault.Errorf(fault.NotFound, "this log serves tiles of height %d only", TileHeight)
	}
	if t.L < 0 {
		return nil, fault.Errorf(fault.NotFound, "record bodies are not public: no data tiles")
	}
	size := l.Size()
	// The tile covers hashes up to record (N*2^H + W) << (H*L); it must lie
	// inside the tree.
	shift := uint(t.H * t.L)
	if shift >= 62 || t.N >= (int64(1)<<(62-shift))>>uint(t.H) {
		return nil, fault.Errorf(fault.NotFound, "tile %s lies beyond the tree (size %d)", t.Path(), size)
	}
	if end := (t.N<<uint(t.H) + int64(t.W)) << shift; end > size {
		return nil, fault.Errorf(fault.NotFound, "tile %s lies beyond the tree (size %d)", t.Path(), size)
	}
	var data []byte
	err := l.view(ctx, func(st *state) error {
		var err error
		data, err = tlog.ReadTileData(t, vlog.HashReader(st.tx))
		return err
	})
	return data, err
}

// ReadsAll reports whether p reads every record (admins and auditors).
func (p Principal) ReadsAll() bool { return p.readsAll() }
