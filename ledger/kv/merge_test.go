package kv

import (
	"cmp"
	"coldtrace/ledger/fault"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestMergeRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 300; n++ {
		var s []int
		for run := r.IntN(9); run >= 0; run-- {
			v := r.IntN(50)
			for k := r.IntN(20); k >= 0; k-- {
				s = append(s, v)
				v += r.IntN(5)
			}
		}
		want := slices.Sorted(slices.Values(s))
		if got := MergeRuns(slices.Clone(s), cmp.Compare[int]); !slices.Equal(got, want) {
			t.Fatalf("MergeRuns(%v) = %v", s, got)
		}
	}
}

// sortedTx is a read-only Tx over sorted keys that counts its scans (the
// merged reads run on badger in the ledger's report tests; this checks
// their seeking alone).
type sortedTx struct {
	keys  []string
	scans int
}

func (s *sortedTx) Get([]byte) ([]byte, error) { return nil, fault.Errorf(fault.NotFound, "no") }
func (s *sortedTx) Set(_, _ []byte) error      { return fault.Errorf(fault.Forbidden, "read-only") }
func (s *sortedTx) Delete([]byte) error        { return fault.Errorf(fault.Forbidden, "read-only") }
func (s *sortedTx) Scan(prefix, start []byte, _ bool, fn func(k, v []byte) error) error {
	s.scans++
	for _, k := range s.keys[sort.SearchStrings(s.keys, string(start)):] {
		if !strings.HasPrefix(k, string(prefix)) {
			continue
		}
		if err := fn([]byte(k), []byte("v"+k)); err == fault.ErrStop {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

func TestMergedReads(t *testing.T) {
	var keys []string
	for i := 0; i < 1000; i++ {
		keys = append(keys, fmt.Sprintf("t/%04d/x", i))
	}
	bs := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	alive := func() error { return nil }
	for _, c := range []struct {
		prefixes [][]byte
		scans    int
	}{
		{bs("t/0001/", "t/0003/", "t/0004/"), 1}, // close together: one read
		{bs("t/0001/", "t/0500/", "t/0900/"), 3}, // sparse: a seek each
		{bs("t/0001/", "t/0002/", "t/2000/"), 2}, // the last, past the end, costs a seek
	} {
		tx := &sortedTx{keys: keys}
		var got []string
		err := ScanPrefixes(tx, []byte("t/"), c.prefixes, 4, alive, func(i int, k, _ []byte) error {
			if !strings.HasPrefix(string(k), string(c.prefixes[i])) {
				t.Errorf("entry %s given as under prefix %d (%s)", k, i, c.prefixes[i])
			}
			got = append(got, string(k))
			return nil
		})
		want := 0
		for _, p := range c.prefixes {
			if string(p) < "t/1000" {
				want++
			}
		}
		if err != nil || len(got) != want || tx.scans != c.scans {
			t.Errorf("ScanPrefixes(%s): %v, %d entries (want %d), %d scans (want %d)", c.prefixes, err, len(got), want, tx.scans, c.scans)
		}
	}
	tx := &sortedTx{keys: keys}
	var vals []string
	err := GetSorted(tx, []byte("t/"), bs("t/0001/x", "t/0002/y", "t/0003/x", "t/0700/x"), 4, func(i int, v []byte) error {
		vals = append(vals, fmt.Sprintf("%d %s", i, v))
		return nil
	})
	if err != nil || strings.Join(vals, ",") != "0 vt/0001/x,2 vt/0003/x,3 vt/0700/x" || tx.scans != 2 {
		t.Errorf("GetSorted: %v, %v, %d scans (want 2: one seek to the far key)", err, vals, tx.scans)
	}
	stop := errors.New("client went away")
	err = ScanPrefixes(&sortedTx{keys: keys}, []byte("t/"), bs("t/0001/"), 4, func() error { return stop }, func(int, []byte, []byte) error { return nil })
	if err != stop {
		t.Errorf("ScanPrefixes with a dead caller: %v, want its error", err)
	}
}
