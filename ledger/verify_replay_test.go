package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// smallTxStore is a Store whose transactions take at most limit writes:
// the next one fails with ErrTxnFull, as badger's does past 15 % of a
// memtable.
type smallTxStore struct {
	ledger.Store
	limit   int
	refused int // writes refused, over all transactions
}

func (s *smallTxStore) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	return s.Store.Update(ctx, func(tx ledger.Tx) error { return fn(&smallTx{Tx: tx, s: s}) })
}

type smallTx struct {
	ledger.Tx
	s      *smallTxStore
	writes int
}

func (t *smallTx) write() error {
	if t.writes++; t.writes > t.s.limit {
		t.s.refused++
		return fmt.Errorf("%d writes: %w", t.writes, ledger.ErrTxnFull)
	}
	return nil
}

func (t *smallTx) Set(k, v []byte) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.Set(k, v)
}

func (t *smallTx) Delete(k []byte) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.Delete(k)
}

// TestVerifyReplaySplitsFullTransactions: a replay transaction that fills
// up is committed with the records before the one that did not fit, and
// the replay goes on from that record; the state compared is the same.
func TestVerifyReplaySplitsFullTransactions(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 60; i++ {
		e.submit(e.admin, orgEvent(i))
	}
	want := e.verify()
	inner, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	scratch := &smallTxStore{Store: inner, limit: 12}
	rep, err := ledger.Verify(context.Background(), e.store, scratch, e.key.Verifier, nil)
	if err != nil {
		t.Fatalf("Verify with transactions of %d writes: %v", scratch.limit, err)
	}
	if scratch.refused == 0 {
		t.Fatalf("no transaction filled up: the test checks nothing")
	}
	if rep.StateKeys != want.StateKeys || rep.Size != want.Size {
		t.Fatalf("Verify = %d records, %d state entries; want %d, %d", rep.Size, rep.StateKeys, want.Size, want.StateKeys)
	}
}
