package badgerkv

import (
	"testing"

	"coldtrace/ledger"
)

// TestDiscardBoundKeepsOpenSnapshots checks the timestamp the store lets
// badger discard below: never above an open snapshot, and the newest commit
// once no snapshot is open.
func TestDiscardBoundKeepsOpenSnapshots(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	set := func(v string) {
		if err := s.Update(t.Context(), func(tx ledger.Tx) error { return tx.Set([]byte("k"), []byte(v)) }); err != nil {
			t.Fatal(err)
		}
	}
	set("v1")
	opened := s.committed.Load()
	err = s.View(t.Context(), func(tx ledger.Tx) error {
		for _, v := range []string{"v2", "v3", "v4"} {
			set(v)
		}
		if got := s.oldestSnapshot(); got != opened {
			t.Errorf("discard bound %d with a snapshot open at %d", got, opened)
		}
		v, err := tx.Get([]byte("k"))
		if err != nil || string(v) != "v1" {
			t.Errorf("snapshot reads k = %q, %v; want v1", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.oldestSnapshot(), s.committed.Load(); got != want || want != opened+3 {
		t.Errorf("discard bound %d after the snapshot closed, newest commit %d (want %d)", got, want, opened+3)
	}
}

// TestReopenContinuesTimestamps checks that commits after a reopen get
// timestamps above every stored version, so that they are read.
func TestReopenContinuesTimestamps(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := s.Update(t.Context(), func(tx ledger.Tx) error { return tx.Set([]byte("k"), []byte{byte(i)}) }); err != nil {
			t.Fatal(err)
		}
	}
	before := s.committed.Load()
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.committed.Load() != before {
		t.Fatalf("reopened at timestamp %d, last commit was at %d", s.committed.Load(), before)
	}
	if err := s.Update(t.Context(), func(tx ledger.Tx) error { return tx.Set([]byte("k"), []byte("after")) }); err != nil {
		t.Fatal(err)
	}
	err = s.View(t.Context(), func(tx ledger.Tx) error {
		v, err := tx.Get([]byte("k"))
		if err != nil || string(v) != "after" {
			t.Errorf("k = %q, %v after reopening and writing; want after", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
