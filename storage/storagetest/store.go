// Package storagetest holds the conformance suites that every implementation
// of the ledger's storage interfaces runs: one suite per interface, so that
// each adapter is held to the same contract.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// StoreOpener opens a Store for a test. Reopen, when not nil, closes the
// store and opens it again on the same data, to check durability.
type StoreOpener struct {
	Open   func(t *testing.T) ledger.Store
	Reopen func(t *testing.T, s ledger.Store) ledger.Store
}

// TestStore runs the ledger.Store conformance suite.
func TestStore(t *testing.T, o StoreOpener) {
	t.Run("GetMissing", func(t *testing.T) {
		s := o.Open(t)
		err := s.View(t.Context(), func(tx ledger.Tx) error {
			_, err := tx.Get([]byte("nope"))
			return err
		})
		if fault.KindOf(err) != fault.NotFound {
			t.Fatalf("Get of a missing key: %v, want NotFound", err)
		}
	})
	t.Run("SetGetDelete", func(t *testing.T) {
		s := o.Open(t)
		mustUpdate(t, s, func(tx ledger.Tx) error { return tx.Set([]byte("k"), []byte("v1")) })
		if got := get(t, s, "k"); got != "v1" {
			t.Fatalf("Get = %q, want v1", got)
		}
		mustUpdate(t, s, func(tx ledger.Tx) error { return tx.Set([]byte("k"), []byte("v2")) })
		if got := get(t, s, "k"); got != "v2" {
			t.Fatalf("Get after overwrite = %q, want v2", got)
		}
		mustUpdate(t, s, func(tx ledger.Tx) error {
			if err := tx.Delete([]byte("k")); err != nil {
				return err
			}
			return tx.Delete([]byte("never-there"))
		})
		if got := get(t, s, "k"); got != "" {
			t.Fatalf("Get after Delete = %q, want missing", got)
		}
	})
	t.Run("ReadsOwnWrites", func(t *testing.T) {
		s := o.Open(t)
		mustUpdate(t, s, func(tx ledger.Tx) error {
			if err := tx.Set([]byte("a"), []byte("1")); err != nil {
				return err
			}
			v, err := tx.Get([]byte("a"))
			if err != nil || string(v) != "1" {
				return fmt.Errorf("Get in the same transaction = %q, %v", v, err)
			}
			n := 0
			if err := tx.Scan([]byte("a"), nil, false, func(k, v []byte) error { n++; return nil }); err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("Scan in the same transaction saw %d keys, want 1", n)
			}
			return nil
		})
	})
	t.Run("UpdateErrorWritesNothing", func(t *testing.T) {
		s := o.Open(t)
		boom := errors.New("boom")
		err := s.Update(t.Context(), func(tx ledger.Tx) error {
			if err := tx.Set([]byte("x"), []byte("1")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update returned %v, want the callback's error", err)
		}
		if got := get(t, s, "x"); got != "" {
			t.Fatalf("a failed Update wrote x = %q", got)
		}
	})
	t.Run("ViewCannotWrite", func(t *testing.T) {
		s := o.Open(t)
		err := s.View(t.Context(), func(tx ledger.Tx) error { return tx.Set([]byte("x"), []byte("1")) })
		if err == nil {
			t.Fatal("Set in a View succeeded")
		}
		if got := get(t, s, "x"); got != "" {
			t.Fatalf("Set in a View wrote x = %q", got)
		}
	})
	t.Run("SnapshotIsolation", func(t *testing.T) {
		s := o.Open(t)
		mustUpdate(t, s, func(tx ledger.Tx) error { return tx.Set([]byte("k"), []byte("old")) })
		err := s.View(t.Context(), func(tx ledger.Tx) error {
			// A commit made while this view is open must not show in it.
			if err := s.Update(t.Context(), func(w ledger.Tx) error {
				if err := w.Set([]byte("k"), []byte("new")); err != nil {
					return err
				}
				return w.Set([]byte("k2"), []byte("new"))
			}); err != nil {
				return err
			}
			v, err := tx.Get([]byte("k"))
			if err != nil || string(v) != "old" {
				return fmt.Errorf("view saw k = %q (%v) after a later commit, want old", v, err)
			}
			if _, err := tx.Get([]byte("k2")); fault.KindOf(err) != fault.NotFound {
				return fmt.Errorf("view saw k2 written after it began: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "k"); got != "new" {
			t.Fatalf("after the commit k = %q, want new", got)
		}
	})
	t.Run("Scan", func(t *testing.T) {
		s := o.Open(t)
		mustUpdate(t, s, func(tx ledger.Tx) error {
			for _, k := range []string{"p/3", "p/1", "p/2", "q/1", "o/9", "p/10"} {
				if err := tx.Set([]byte(k), []byte("v"+k)); err != nil {
					return err
				}
			}
			return nil
		})
		cases := []struct {
			prefix, start string
			reverse       bool
			stopAfter     int
			want          []string
		}{
			{"p/", "", false, 0, []string{"p/1", "p/10", "p/2", "p/3"}},
			{"p/", "", true, 0, []string{"p/3", "p/2", "p/10", "p/1"}},
			{"p/", "p/10", false, 0, []string{"p/10", "p/2", "p/3"}},
			{"p/", "p/15", false, 0, []string{"p/2", "p/3"}},
			{"p/", "p/2", true, 0, []string{"p/2", "p/10", "p/1"}},
			{"p/", "p/15", true, 0, []string{"p/10", "p/1"}},
			{"p/", "", false, 2, []string{"p/1", "p/10"}},
			{"z/", "", false, 0, nil},
			{"", "", false, 0, []string{"o/9", "p/1", "p/10", "p/2", "p/3", "q/1"}},
		}
		for _, c := range cases {
			var got []string
			err := s.View(t.Context(), func(tx ledger.Tx) error {
				var start []byte
				if c.start != "" {
					start = []byte(c.start)
				}
				return tx.Scan([]byte(c.prefix), start, c.reverse, func(k, v []byte) error {
					if string(v) != "v"+string(k) {
						return fmt.Errorf("key %s has value %q", k, v)
					}
					got = append(got, string(k))
					if c.stopAfter > 0 && len(got) == c.stopAfter {
						return fault.ErrStop
					}
					return nil
				})
			})
			if err != nil {
				t.Fatalf("Scan(%q, %q, %v): %v", c.prefix, c.start, c.reverse, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("Scan(%q, %q, reverse=%v) = %v, want %v", c.prefix, c.start, c.reverse, got, c.want)
			}
		}
		boom := errors.New("boom")
		err := s.View(t.Context(), func(tx ledger.Tx) error {
			return tx.Scan([]byte("p/"), nil, false, func(k, v []byte) error { return boom })
		})
		if !errors.Is(err, boom) {
			t.Errorf("Scan callback error: got %v, want it returned", err)
		}
	})
	t.Run("BinaryKeys", func(t *testing.T) {
		s := o.Open(t)
		keys := [][]byte{{0, 0, 0, 1}, {0, 0, 1, 0}, {0, 0xff}, {0}}
		mustUpdate(t, s, func(tx ledger.Tx) error {
			for _, k := range keys {
				if err := tx.Set(k, k); err != nil {
					return err
				}
			}
			return nil
		})
		var got [][]byte
		_ = s.View(t.Context(), func(tx ledger.Tx) error {
			return tx.Scan([]byte{0}, nil, false, func(k, v []byte) error {
				got = append(got, bytes.Clone(k))
				return nil
			})
		})
		want := [][]byte{{0}, {0, 0, 0, 1}, {0, 0, 1, 0}, {0, 0xff}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("binary keys scanned as %v, want %v", got, want)
		}
	})
	t.Run("CancelledContextStops", func(t *testing.T) {
		s := o.Open(t)
		const n = 5000
		mustUpdate(t, s, func(tx ledger.Tx) error {
			for i := range n {
				if err := tx.Set([]byte(fmt.Sprintf("c/%05d", i)), nil); err != nil {
					return err
				}
			}
			return nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		read := 0
		err := s.View(ctx, func(tx ledger.Tx) error {
			return tx.Scan([]byte("c/"), nil, false, func(k, v []byte) error {
				if read++; read == 1 {
					cancel()
				}
				return nil
			})
		})
		if !errors.Is(err, context.Canceled) || read >= n {
			t.Fatalf("a Scan whose context was cancelled at the first key read %d of %d keys and returned %v, want context.Canceled early", read, n, err)
		}
		called := false
		for _, run := range []func(context.Context, func(ledger.Tx) error) error{s.View, s.Update} {
			if err := run(ctx, func(ledger.Tx) error { called = true; return nil }); !errors.Is(err, context.Canceled) || called {
				t.Fatalf("a transaction on a cancelled context returned %v (fn called: %v), want context.Canceled without calling fn", err, called)
			}
		}
	})
	if o.Reopen != nil {
		t.Run("Durable", func(t *testing.T) {
			s := o.Open(t)
			mustUpdate(t, s, func(tx ledger.Tx) error { return tx.Set([]byte("d"), []byte("kept")) })
			if err := s.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			s = o.Reopen(t, s)
			if got := get(t, s, "d"); got != "kept" {
				t.Fatalf("after reopening d = %q, want kept", got)
			}
		})
	}
}

func mustUpdate(t *testing.T, s ledger.Store, fn func(ledger.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// get returns the value of k, "" when missing.
func get(t *testing.T, s ledger.Store, k string) string {
	t.Helper()
	var v []byte
	err := s.View(t.Context(), func(tx ledger.Tx) error {
		var err error
		v, err = tx.Get([]byte(k))
		return err
	})
	if fault.KindOf(err) == fault.NotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("Get %s: %v", k, err)
	}
	return string(v)
}
