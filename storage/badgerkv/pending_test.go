package badgerkv

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// TestScanInUpdate checks Scan inside an Update against a model of the
// committed keys and the transaction's own writes: random sets and deletes
// of keys in a few prefixes, committed over several Updates, then scanned
// forwards and backwards, from a start and with an early stop, between
// the writes of a last Update.
func TestScanInUpdate(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(7, 11))
	model := map[string]string{}
	randKey := func() string { return fmt.Sprintf("%c/%02d", "abc"[r.IntN(3)], r.IntN(40)) }
	write := func(tx ledger.Tx, m map[string]string) {
		k := randKey()
		if r.IntN(3) == 0 {
			delete(m, k)
			if err := tx.Delete([]byte(k)); err != nil {
				t.Fatal(err)
			}
			return
		}
		v := fmt.Sprint(r.Int())
		m[k] = v
		if err := tx.Set([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if err := s.Update(context.Background(), func(tx ledger.Tx) error {
			for range 30 {
				write(tx, model)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	checks := 0
	err = s.Update(context.Background(), func(tx ledger.Tx) error {
		for range 200 {
			write(tx, model)
			prefix := []string{"a/", "b/", "c/", "b/1", ""}[r.IntN(5)]
			var start []byte
			if r.IntN(2) == 0 {
				start = []byte(prefix + fmt.Sprint(r.IntN(4)))
			}
			reverse, stop := r.IntN(2) == 0, r.IntN(8)
			var want []string
			for _, k := range slices.Sorted(maps.Keys(model)) {
				if strings.HasPrefix(k, prefix) && (start == nil || !reverse && k >= string(start) || reverse && k <= string(start)) {
					want = append(want, k+"="+model[k])
				}
			}
			if reverse {
				slices.Reverse(want)
			}
			if stop > 0 && len(want) > stop {
				want = want[:stop]
			}
			var got []string
			err := tx.Scan([]byte(prefix), start, reverse, func(k, v []byte) error {
				got = append(got, string(k)+"="+string(v))
				if len(got) == stop {
					return fault.ErrStop
				}
				return nil
			})
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Scan(%q, %q, reverse %v, stop %d) =\n%v, want\n%v", prefix, start, reverse, stop, got, want)
			}
			checks++
		}
		return nil
	})
	if err != nil || checks != 200 {
		t.Fatalf("%d checks: %v", checks, err)
	}
	// And what was committed reads the same from a View.
	err = s.View(context.Background(), func(tx ledger.Tx) error {
		var got []string
		if err := tx.Scan(nil, nil, false, func(k, v []byte) error { got = append(got, string(k)+"="+string(v)); return nil }); err != nil {
			return err
		}
		var want []string
		for _, k := range slices.Sorted(maps.Keys(model)) {
			want = append(want, k+"="+model[k])
		}
		if !slices.Equal(got, want) {
			t.Errorf("after commit: %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
