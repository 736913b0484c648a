package badgerkv

import "coldtrace/ledger"

var _ ledger.Purger = (*Store)(nil)

// PurgeKey implements ledger.Purger: it removes every version of key from
// badger's memtables, write-ahead logs and tables, which otherwise keep a
// deleted value's bytes until compaction reaches them. Badger drops only
// keys it can still see, so the key is first set to an empty value; then
// DropPrefix flushes the memtables without it and rewrites every table
// that holds it. Writes wait meanwhile.
func (s *Store) PurgeKey(key []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ts := s.committed.Load()
	txn := s.db.NewTransactionAt(ts, true)
	defer txn.Discard()
	if err := txn.Set(key, []byte{}); err != nil {
		return translate(err)
	}
	if err := txn.CommitAt(ts+1, nil); err != nil {
		return translate(err)
	}
	s.committed.Store(ts + 1)
	s.db.SetDiscardTs(s.oldestSnapshot())
	err := s.db.DropPrefix(key)
	if s.wal != nil {
		s.wal.relist.Store(true) // DropPrefix makes a memtable of its own
	}
	return translate(err)
}
