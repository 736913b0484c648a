// Package badgerkv implements ledger.Store on github.com/dgraph-io/badger/v4:
// the embedded, on-disk store of coldtrace. Commits are written at once and
// made durable by Sync (badger's fsync of its logs), which the ledger calls
// once per group of commits.
package badgerkv

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"

	"coldtrace/ledger"
)

var _ ledger.Store = (*Store)(nil)

// A Store is a ledger.Store in a badger database.
type Store struct {
	db       *badger.DB
	inMemory bool
}

// Options tune Open.
type Options struct {
	// InMemory keeps everything in memory and nothing on disk (dir is
	// ignored): for scratch replays and tests.
	InMemory bool
	// Logger receives badger's warnings and errors; discarded when nil.
	Logger *slog.Logger
}

// Open opens (creating if needed) the badger database in dir.
func Open(dir string, opts Options) (*Store, error) {
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(false). // the ledger calls Sync once per group of commits

		WithDetectConflicts(false). // the ledger has a single writer
		WithLogger(logger{opts.Logger}).
		WithNumVersionsToKeep(1)
	if opts.InMemory {
		bo = bo.WithDir("").WithValueDir("").WithInMemory(true)
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, ledger.Wrap(ledger.Unavailable, "cannot open the database", err)
	}
	return &Store{db: db, inMemory: opts.InMemory}, nil
}

// Sync implements ledger.Store: it syncs badger's write-ahead log and value
// log to disk.
func (s *Store) Sync() error {
	if s.inMemory {
		return nil
	}
	return translate(s.db.Sync())
}

// View implements ledger.Store.
func (s *Store) View(fn func(ledger.Tx) error) error {
	return translate(s.db.View(func(txn *badger.Txn) error { return fn(tx{txn}) }))
}

// Update implements ledger.Store.
func (s *Store) Update(fn func(ledger.Tx) error) error {
	return translate(s.db.Update(func(txn *badger.Txn) error { return fn(tx{txn}) }))
}

// Close implements ledger.Store.
func (s *Store) Close() error { return translate(s.db.Close()) }

// DB returns the underlying database, for tools and tests that must reach
// below the ledger (a tamper test rewriting a record, say).
func (s *Store) DB() *badger.DB { return s.db }

type tx struct{ txn *badger.Txn }

func (t tx) Get(k []byte) ([]byte, error) {
	item, err := t.txn.Get(k)
	if err != nil {
		return nil, translate(err)
	}
	v, err := item.ValueCopy(nil)
	return v, translate(err)
}

func (t tx) Set(k, v []byte) error { return translate(t.txn.Set(k, v)) }
func (t tx) Delete(k []byte) error { return translate(t.txn.Delete(k)) }

func (t tx) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	io := badger.DefaultIteratorOptions
	io.PrefetchValues = false
	io.Reverse = reverse
	io.Prefix = prefix
	it := t.txn.NewIterator(io)
	defer it.Close()
	seek := start
	if seek == nil {
		seek = prefix
		if reverse {
			seek = append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 16)...)
		}
	}
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error { return fn(item.Key(), v) })
		if errors.Is(err, ledger.ErrStop) {
			return nil
		}
		if err != nil {
			return translate(err)
		}
	}
	return nil
}

// translate maps badger's errors to ledger errors; ledger errors and nil pass
// through.
func translate(err error) error {
	var le *ledger.Error
	switch {
	case err == nil, errors.As(err, &le):
		return err
	case errors.Is(err, badger.ErrKeyNotFound):
		return ledger.Errorf(ledger.NotFound, "key not found")
	case errors.Is(err, badger.ErrReadOnlyTxn):
		return ledger.Errorf(ledger.Forbidden, "write in a read-only transaction")
	case errors.Is(err, badger.ErrTxnTooBig):
		return ledger.Wrap(ledger.Internal, "transaction too big", fmt.Errorf("%w: %w", ledger.ErrTxnFull, err))
	case errors.Is(err, badger.ErrDBClosed):
		return ledger.Wrap(ledger.Unavailable, "the database is closed", err)
	default:
		return ledger.Wrap(ledger.Unavailable, "storage failure", err)
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
