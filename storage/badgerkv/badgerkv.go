// Package badgerkv implements ledger.Store on github.com/dgraph-io/badger/v4:
// the embedded, on-disk store of coldtrace. Commits are written at once and
// made durable by Sync (badger's fsync of its logs), which the ledger calls
// once per group of commits.
//
// The store runs badger in managed mode and keeps the timestamps itself:
// commits are serialised and each gets the next timestamp, and a snapshot
// reads at the newest finished commit. Badger's own mode hands every
// transaction's timestamps to one watermark goroutine, so that under load
// every read and the ledger's writer waited for that goroutine to be
// scheduled; here neither ever waits for the other.
package badgerkv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

var _ ledger.Store = (*Store)(nil)

// A Store is a ledger.Store in a badger database.
type Store struct {
	db       *badger.DB
	inMemory bool

	writeMu   sync.Mutex    // one Update at a time
	committed atomic.Uint64 // timestamp of the newest finished commit

	// readers counts the snapshots open at each timestamp, so that badger
	// discards no version a snapshot may still read.
	readersMu sync.Mutex
	readers   map[uint64]int

	minFree int64                 // the free-space reserve, 0 for none
	free    func() (int64, error) // free bytes of the disk

	wal *walSyncer // nil in memory and read-only
}

// Options tune Open.
type Options struct {
	// InMemory keeps everything in memory and nothing on disk (dir is
	// ignored): for scratch replays and tests.
	InMemory bool
	// Logger receives badger's warnings and errors; discarded when nil.
	Logger *slog.Logger
	// ReadOnly opens the database without writing to it (verify on a
	// read-only copy or a full disk). Update fails.
	ReadOnly bool
	// MinFreeBytes is the free-space reserve: Update refuses (an
	// Unavailable error wrapping ledger.ErrRefused) before writing while
	// the disk of the database has less free space, so that badger never
	// runs out of space in the middle of a write; 0 for no reserve.
	MinFreeBytes int64
	// FreeSpace returns the free bytes of the database's disk;
	// FreeBytes(dir) when nil (tests inject a disk filling up).
	FreeSpace func() (int64, error)
	// Memory bounds badger's memtables and caches; badger's defaults for
	// the zero fields.
	Memory Memory
	// Bulk tunes badger for a bulk load (seed, import, a benchmark's
	// build) where Memory leaves a field zero: bulkMemTableSize memtables
	// and bulkLevel0Tables level-0 tables before compaction (writes stall
	// at bulkLevel0Stall), and a base level of bulkBaseLevelSize (fewer
	// levels between level 0 and the last), so that compaction rewrites
	// the lower levels less often while the load runs. Measured in
	// docs/decisions.md (issue 17, the write path at scale).
	Bulk bool
	// Scratch tunes badger for a throwaway store that is written once and
	// read back (verify's replay): its tables are not compressed, so that
	// a read of a key that left the memtables costs a look in the mapped
	// table and no decompression or block cache (it takes more disk), and
	// its levels start at scratchBaseLevelSize with scratchCompactors
	// compactors, so that compaction rewrites the state through fewer
	// levels while the pages of what runs at once stay within verify's
	// memory (docs/decisions.md, issue 17, verify's replay).
	Scratch bool
}

// The bulk load's settings (Options.Bulk); badger's defaults are 64 MiB,
// 5, 15 and 10 MiB.
const (
	bulkMemTableSize  = 128 << 20
	bulkLevel0Tables  = 15
	bulkLevel0Stall   = 50
	bulkBaseLevelSize = 256 << 20
)

// The scratch's settings (Options.Scratch); badger's defaults are 10 MiB
// and 4.
const (
	scratchBaseLevelSize = 128 << 20
	scratchCompactors    = 2
)

// Open opens (creating if needed) the badger database in dir.
func Open(dir string, opts Options) (*Store, error) {
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(false).      // the ledger calls Sync once per group of commits
		WithDetectConflicts(false). // the ledger has a single writer
		WithLogger(logger{opts.Logger}).
		WithNumVersionsToKeep(1)
	if opts.Bulk {
		bo = bo.WithMemTableSize(bulkMemTableSize).WithNumLevelZeroTables(bulkLevel0Tables).
			WithNumLevelZeroTablesStall(max(bulkLevel0Stall, opts.Memory.NumLevelZeroTables+10)).
			WithBaseLevelSize(bulkBaseLevelSize)
	}
	if opts.Scratch {
		bo = bo.WithCompression(options.None).WithBaseLevelSize(scratchBaseLevelSize).WithNumCompactors(scratchCompactors)
	}
	bo = opts.Memory.apply(bo)
	if opts.InMemory {
		bo = bo.WithDir("").WithValueDir("").WithInMemory(true)
	}
	if opts.ReadOnly {
		bo = bo.WithReadOnly(true).WithCompactL0OnClose(false)
	}
	db, err := badger.OpenManaged(bo)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "cannot open the database", err)
	}
	s := &Store{db: db, inMemory: opts.InMemory, readers: map[uint64]int{}, minFree: opts.MinFreeBytes, free: opts.FreeSpace}
	if s.free == nil {
		s.free = func() (int64, error) { return FreeBytes(dir) }
	}
	if opts.InMemory {
		s.minFree = 0
	}
	if ownWALSync && !opts.InMemory && !opts.ReadOnly {
		o := db.Opts()
		if s.wal, err = newWALSyncer(o.Dir, o.MemTableSize, o.ValueThreshold); err != nil {
			db.Close()
			return nil, fault.Wrap(fault.Unavailable, "cannot open the database", err)
		}
	}
	s.committed.Store(db.MaxVersion())
	return s, nil
}

// Sync implements ledger.Store: every commit that finished before it is on
// disk when it returns. On Linux it syncs badger's write-ahead logs
// itself, holding no lock of badger's, so that Updates commit meanwhile
// (walSyncer); elsewhere it is badger's DB.Sync.
func (s *Store) Sync() error {
	switch {
	case s.wal != nil:
		return translate(s.wal.sync(s.db.Sync))
	case s.inMemory:
		return nil
	default:
		return translate(s.db.Sync())
	}
}

// View implements ledger.Store: fn reads a snapshot of every commit that
// finished before it began.
func (s *Store) View(ctx context.Context, fn func(ledger.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db.IsClosed() {
		return translate(badger.ErrDBClosed)
	}
	s.readersMu.Lock()
	ts := s.committed.Load()
	s.readers[ts]++
	s.readersMu.Unlock()
	defer func() {
		s.readersMu.Lock()
		if s.readers[ts]--; s.readers[ts] == 0 {
			delete(s.readers, ts)
		}
		s.readersMu.Unlock()
	}()
	txn := s.db.NewTransactionAt(ts, false)
	defer txn.Discard()
	return translate(fn(tx{txn, ctx, nil}))
}

// Update implements ledger.Store: fn reads the newest commit and its writes
// are committed at the next timestamp when it returns nil. Updates are
// serialised.
func (s *Store) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db.IsClosed() {
		return translate(badger.ErrDBClosed)
	}
	if err := s.SpaceError(); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ts := s.committed.Load()
	txn := s.db.NewTransactionAt(ts, true)
	defer txn.Discard()
	up := &update{db: s.db, ts: ts}
	defer up.close()
	if err := fn(tx{txn, ctx, up}); err != nil {
		return translate(err)
	}
	if err := txn.CommitAt(ts+1, nil); err != nil {
		return translate(err)
	}
	s.committed.Store(ts + 1)
	s.db.SetDiscardTs(s.oldestSnapshot())
	if s.wal != nil {
		s.wal.committed(up.w.log)
	}
	return nil
}

// oldestSnapshot returns the timestamp below which no open snapshot reads:
// badger may drop versions that only older snapshots could see.
func (s *Store) oldestSnapshot() uint64 {
	oldest := s.committed.Load()
	s.readersMu.Lock()
	for ts := range s.readers {
		oldest = min(oldest, ts)
	}
	s.readersMu.Unlock()
	return oldest
}

// Close implements ledger.Store.
func (s *Store) Close() error {
	if s.wal != nil {
		defer s.wal.close()
	}
	return translate(s.db.Close())
}

type tx struct {
	txn *badger.Txn
	ctx context.Context
	up  *update // nil in a View
}

// scanCheckEvery is how many keys a Scan reads between looks at its
// context: often enough to stop within a millisecond, rarely enough to cost
// nothing measurable.
const scanCheckEvery = 256

func (t tx) Get(k []byte) ([]byte, error) {
	item, err := t.txn.Get(k)
	if err != nil {
		return nil, translate(err)
	}
	v, err := item.ValueCopy(nil)
	return v, translate(err)
}

func (t tx) Set(k, v []byte) error {
	err := t.txn.Set(k, v)
	if err == nil && t.up != nil {
		t.up.w.add(k, v, false)
	}
	return translate(err)
}

func (t tx) Delete(k []byte) error {
	err := t.txn.Delete(k)
	if err == nil && t.up != nil {
		t.up.w.add(k, nil, true)
	}
	return translate(err)
}

func (t tx) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	seek := start
	if seek == nil {
		seek = prefix
		if reverse {
			seek = append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 16)...)
		}
	}
	if t.up != nil && len(t.up.w.log) > 0 {
		return t.mergedScan(prefix, seek, reverse, fn)
	}
	it := t.txn.NewIterator(iterOptions(prefix, reverse))
	defer it.Close()
	n := 0
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		if n++; n%scanCheckEvery == 0 {
			if err := t.ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		err := item.Value(func(v []byte) error { return fn(item.Key(), v) })
		if errors.Is(err, fault.ErrStop) {
			return nil
		}
		if err != nil {
			return translate(err)
		}
	}
	return nil
}

func iterOptions(prefix []byte, reverse bool) badger.IteratorOptions {
	io := badger.DefaultIteratorOptions
	io.PrefetchValues = false
	io.Reverse = reverse
	io.Prefix = prefix
	return io
}

// errKeyNotFound is every missing key's error: lookups of keys that are not
// there are common (is this org new?) and need not format a message each.
var errKeyNotFound = fault.Errorf(fault.NotFound, "key not found")

// translate maps badger's errors to ledger errors; ledger errors and nil pass
// through.
func translate(err error) error {
	var le *fault.Error
	switch {
	case err == nil, errors.As(err, &le), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, badger.ErrKeyNotFound):
		return errKeyNotFound
	case errors.Is(err, badger.ErrReadOnlyTxn):
		return fault.Errorf(fault.Forbidden, "write in a read-only transaction")
	case errors.Is(err, badger.ErrTxnTooBig):
		return fault.Wrap(fault.Internal, "transaction too big", fmt.Errorf("%w: %w", ledger.ErrTxnFull, err))
	case errors.Is(err, badger.ErrDBClosed):
		return fault.Wrap(fault.Unavailable, "the database is closed", err)
	default:
		return fault.Wrap(fault.Unavailable, "storage failure", err)
	}
}

// logger forwards badger's warnings and errors to slog.
type logger struct{ l *slog.Logger }

func (l logger) Errorf(f string, a ...any) {
	if l.l != nil {
		l.l.Error("badger: " + fmt.Sprintf(f, a...))
	}
}

func (l logger) Warningf(f string, a ...any) {
	if l.l != nil {
		l.l.Warn("badger: " + fmt.Sprintf(f, a...))
	}
}
func (logger) Infof(string, ...any)  {}
func (logger) Debugf(string, ...any) {}
