package badgerkv

import (
	"github.com/dgraph-io/badger/v4"
)

// WithTablesOpen calls fn with the database's directory and the IDs of
// badger's tables (the files %06d.sst in it) that stay open while fn runs:
// badger neither closes nor unmaps any of them before fn returns, though a
// compaction may replace them meanwhile. cmd/coldtrace/memory/mapped uses
// it to release the resident pages of the tables' mappings safely.
//
// Badger unmaps a table when its last reference goes; an iterator holds a
// reference to every table of every level it was made on (appendIterators
// with no prefix picks them all). A table enters the tree once and leaves
// it once (badger rewrites tables, it never moves one between levels), so a
// table listed both before and after the iterator was made was in the tree
// while it was made, and is held by it.
func (s *Store) WithTablesOpen(fn func(dir string, ids map[uint64]bool) error) error {
	if s.inMemory {
		return fn("", nil)
	}
	if s.db.IsClosed() {
		return translate(badger.ErrDBClosed)
	}
	before := s.db.Tables()
	txn := s.db.NewTransactionAt(s.committed.Load(), false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	listed := make(map[uint64]bool, len(before))
	for _, t := range before {
		listed[t.ID] = true
	}
	ids := make(map[uint64]bool, len(before))
	for _, t := range s.db.Tables() {
		if listed[t.ID] {
			ids[t.ID] = true
		}
	}
	return fn(s.db.Opts().Dir, ids)
}
