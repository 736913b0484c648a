package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"coldtrace/ledger/fault"
)

// memStore is a Store in a map that counts the Gets that reach it and can
// fail a commit after fn succeeded.
type memStore struct {
	mu         sync.Mutex
	m          map[string][]byte
	gets       int
	failCommit bool
}

func (s *memStore) View(ctx context.Context, fn func(Tx) error) error {
	s.mu.Lock()
	snap := maps.Clone(s.m)
	s.mu.Unlock()
	return fn(&memTx{s: s, m: snap})
}

func (s *memStore) Update(ctx context.Context, fn func(Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &memTx{s: s, m: maps.Clone(s.m)}
	if err := fn(t); err != nil {
		return err
	}
	if s.failCommit {
		return errors.New("commit failed")
	}
	s.m = t.m
	return nil
}

func (s *memStore) Sync() error  { return nil }
func (s *memStore) Close() error { return nil }

type memTx struct {
	s *memStore
	m map[string][]byte
}

func (t *memTx) Get(k []byte) ([]byte, error) {
	t.s.gets++
	v, ok := t.m[string(k)]
	if !ok {
		return nil, fault.Errorf(fault.NotFound, "no %s", k)
	}
	return bytes.Clone(v), nil
}
func (t *memTx) Set(k, v []byte) error { t.m[string(k)] = bytes.Clone(v); return nil }
func (t *memTx) Delete(k []byte) error { delete(t.m, string(k)); return nil }
func (t *memTx) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	return errors.New("not in this test")
}

// TestStateCache checks that the write path's cache of state entries
// answers what the store holds: a committed write is read back without the
// store, a write whose transaction failed or whose commit failed is not,
// a deletion is, a transaction reads its own writes, keys outside the
// cached tables always go to the store, and the cache stays within its
// bound.
func TestStateCache(t *testing.T) {
	inner := &memStore{m: map[string][]byte{}}
	s := &cachingStore{Store: inner}
	ctx := context.Background()
	k := tabLot.key("L1")
	get := func(key []byte) (string, error) {
		var v []byte
		err := s.Update(ctx, func(tx Tx) error {
			var err error
			v, err = tx.Get(key)
			return err
		})
		return string(v), err
	}
	set := func(key []byte, v string) error {
		return s.Update(ctx, func(tx Tx) error { return tx.Set(key, []byte(v)) })
	}
	if err := set(k, "v1"); err != nil {
		t.Fatal(err)
	}
	inner.gets = 0
	if v, err := get(k); err != nil || v != "v1" || inner.gets != 0 {
		t.Fatalf("after a commit: %q %v, %d Gets of the store; want v1 from the cache", v, err, inner.gets)
	}
	// What a caller does with the bytes it got is not the cache's.
	_ = s.Update(ctx, func(tx Tx) error {
		v, _ := tx.Get(k)
		v[0] = 'X'
		return nil
	})
	if v, _ := get(k); v != "v1" {
		t.Fatalf("a caller's change to its bytes reached the cache: %q", v)
	}

	// A transaction that fails and one whose commit fails leave v1.
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.Set(k, []byte("v2")); err != nil {
			return err
		}
		if v, _ := tx.Get(k); string(v) != "v2" {
			t.Errorf("a transaction reads %q after its own write of v2", v)
		}
		return errors.New("refused")
	})
	if err == nil {
		t.Fatal("the failing transaction succeeded")
	}
	if v, _ := get(k); v != "v1" {
		t.Fatalf("after a failed transaction: %q, want v1", v)
	}
	inner.failCommit = true
	if err := set(k, "v3"); err == nil {
		t.Fatal("the failing commit succeeded")
	}
	inner.failCommit = false
	if v, _ := get(k); v != "v1" {
		t.Fatalf("after a failed commit: %q, want v1", v)
	}

	if err := s.Update(ctx, func(tx Tx) error { return tx.Delete(k) }); err != nil {
		t.Fatal(err)
	}
	if _, err := get(k); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("after a deletion: %v, want NotFound", err)
	}

	// A key outside the cached tables is read from the store every time.
	a := []byte("a/other")
	if err := set(a, "x"); err != nil {
		t.Fatal(err)
	}
	inner.gets = 0
	get(a)
	get(a)
	if inner.gets != 2 {
		t.Fatalf("%d Gets of the store for two reads of an uncached key, want 2", inner.gets)
	}

	// Within its bound.
	s.c.max = 64 << 10
	for i := range 2000 {
		if err := set(tabLot.key(fmt.Sprint(i)), string(make([]byte, 100))); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.c.vals.bytes(); n > s.c.max {
		t.Fatalf("the cache holds %d bytes, bound %d", n, s.c.max)
	}
}

// TestCheckOnlyFields checks that a field of another kind is refused by
// name and the kind's own and the shared fields are not.
func TestCheckOnlyFields(t *testing.T) {
	var fe fault.Fields
	ev := &Event{Kind: Tested, Lot: "L", Samples: 20, Result: "negative", Note: "n", Site: "W-PORT"}
	checkOnlyFields(ev, []string{"lot", "samples", "scope", "result"}, &fe)
	if len(fe) != 1 || fe[0].Field != "site" {
		t.Fatalf("problems %+v, want one about site", fe)
	}
}

// TestCachedTables pins the tables the state cache keeps, and checks that
// a key of any other table, index or namespace, or one that merely starts
// like a cached table, is not cached.
func TestCachedTables(t *testing.T) {
	for _, tab := range []table{tabLot, tabNode, tabFamily, tabSummary, tabSite, tabPolicy, tabOrg, tabCode} {
		if !cached(tab.key("id")) || !cached(tab.all()) {
			t.Errorf("%s is not cached", tab)
		}
	}
	for _, k := range [][]byte{
		tabLotPrev.key("id"), tabRecordLots.seqKey(1), tabFinding.key("1-0"), tabKey.key("k"),
		idxRoot.key("lot", nil), idxLotEvents.key("id", be64(1)),
		[]byte("s/lot"), []byte("s/lotx/id"), []byte("a/idem/k/lot"), []byte("l/lot/1"), []byte("s/"), nil,
	} {
		if cached(k) {
			t.Errorf("%q is cached", k)
		}
	}
}
