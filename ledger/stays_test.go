package ledger

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/ledger/fault"
)

// sortedStore is a Store in a map whose Scan walks the keys in order; it
// can fail every commit after the first okCommits.
type sortedStore struct {
	m         map[string][]byte
	commits   int
	okCommits int // -1: no limit
}

func (s *sortedStore) View(_ context.Context, fn func(Tx) error) error {
	return fn(&sortedTx{m: maps.Clone(s.m)})
}

func (s *sortedStore) Update(_ context.Context, fn func(Tx) error) error {
	t := &sortedTx{m: maps.Clone(s.m)}
	if err := fn(t); err != nil {
		return err
	}
	if s.okCommits >= 0 && s.commits >= s.okCommits {
		return errors.New("the process stopped before the commit")
	}
	s.commits++
	s.m = t.m
	return nil
}

func (s *sortedStore) Sync() error  { return nil }
func (s *sortedStore) Close() error { return nil }

type sortedTx struct{ m map[string][]byte }

func (t *sortedTx) Get(k []byte) ([]byte, error) { return t.m[string(k)], nil }
func (t *sortedTx) Set(k, v []byte) error        { t.m[string(k)] = bytes.Clone(v); return nil }
func (t *sortedTx) Delete(k []byte) error        { delete(t.m, string(k)); return nil }
func (t *sortedTx) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	if reverse {
		return errors.New("not in this test")
	}
	for _, k := range slices.Sorted(maps.Keys(t.m)) {
		if !strings.HasPrefix(k, string(prefix)) || k < string(start) {
			continue
		}
		if err := fn([]byte(k), t.m[k]); err != nil {
			if errors.Is(err, fault.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// retiredStayKey is the key the rules' µs stay index, retired by issue 11,
// gave a stay: s/x/stay/<site>\x00<end µs><lot id>, open stays at the
// largest time.
func retiredStayKey(site string, s Stay, id string) []byte {
	end := int64(1<<63 - 1)
	if s.To != nil {
		end = s.To.UnixMicro()
	}
	return key(retiredPrefixes[0], []byte(site), []byte{0}, be64(end), []byte(id))
}

// TestStaysEndedSinceAnswersWhatTheMicrosecondIndexDid puts stays ending
// around a window start that lies 500 ns into its microsecond in the
// site-stay index (ns) and in the retired µs index, and checks that
// staysEndedSince gives the lots the old µs scan gave, in its order: a stay
// that ended exactly at the start and one that ended 400 ns earlier in the
// same microsecond are in (the µs key truncated both to the start's
// microsecond), one that ended in the microsecond before is out, and two
// lots that ended in the same microsecond come in id order, not in the
// order of their nanoseconds.
func TestStaysEndedSinceAnswersWhatTheMicrosecondIndexDid(t *testing.T) {
	micro := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	start := micro.Add(500 * time.Nanosecond)
	at := func(d time.Duration) *time.Time { t := micro.Add(d); return &t }
	from := micro.Add(-48 * time.Hour)
	lots := map[string][]Stay{
		"lot-a-exact":        {{Site: "S1", From: from, To: at(500)}},
		"lot-b-same-micro":   {{Site: "S1", From: from, To: at(100)}},
		"lot-c-micro-before": {{Site: "S1", From: from, To: at(-1)}},
		"lot-d-open":         {{Site: "S1", From: from}},
		"lot-e-other-site":   {{Site: "S2", From: from, To: at(time.Hour)}},
		// Ended later in start's microsecond than lot-b but sorts first by id.
		"lot-0-same-micro": {{Site: "S1", From: from, To: at(900)}},
		// Two stays: the later one is listed first by the old index too.
		"lot-f-twice": {{Site: "S1", From: from, To: at(time.Hour)}, {Site: "S1", From: micro.Add(2 * time.Hour), To: at(3 * time.Hour)}},
	}
	s := &sortedStore{m: map[string][]byte{}, okCommits: -1}
	var old [][]byte
	for id, stays := range lots {
		for _, k := range siteStayKeys(&lotNode{ID: id, Custody: stays}) {
			s.m[string(k)] = []byte("code")
		}
		for _, st := range stays {
			if st.Site == "S1" {
				old = append(old, retiredStayKey("S1", st, id))
			}
		}
	}
	// The old rule: scan the µs index of S1 from start's microsecond.
	slices.SortFunc(old, bytes.Compare)
	p := key(retiredPrefixes[0], []byte("S1"), []byte{0})
	var want []string
	for _, k := range old {
		if bytes.Compare(k, key(p, be64(start.UnixMicro()))) >= 0 && !slices.Contains(want, string(k[len(p)+8:])) {
			want = append(want, string(k[len(p)+8:]))
		}
	}
	if w := []string{"lot-0-same-micro", "lot-a-exact", "lot-b-same-micro", "lot-f-twice", "lot-d-open"}; !slices.Equal(want, w) {
		t.Fatalf("the µs scan gives %q, the test expects %q", want, w)
	}
	var got []string
	err := s.View(context.Background(), func(tx Tx) error {
		var err error
		got, err = (&state{tx: tx}).staysEndedSince("S1", start)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("staysEndedSince gives %q, the µs index gave %q", got, want)
	}
}

// TestDropRetiredFinishesAfterAStop fills a store with more retired
// entries than two cleanup transactions take, stops the first cleanup
// after one transaction (the process died), and checks that the next
// cleanup deletes the rest and nothing else, and that a third finds
// nothing to do and writes nothing.
func TestDropRetiredFinishesAfterAStop(t *testing.T) {
	s := &sortedStore{m: map[string][]byte{}, okCommits: 1}
	n := 2*retiredBatch + 7
	for i := range n {
		s.m[string(retiredStayKey("S1", Stay{}, string(be64(int64(i)))))] = nil
	}
	keep := []string{string(idxSiteStay.key("S1", []byte("x"))), string(tabLot.key("l1")), "s/x/stax"}
	for _, k := range keep {
		s.m[k] = []byte("v")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := dropRetired(context.Background(), s, log); err == nil {
		t.Fatal("the stopped cleanup reported no error")
	}
	if got := len(s.m) - len(keep); got != n-retiredBatch {
		t.Fatalf("%d retired entries after the stopped cleanup, want %d", got, n-retiredBatch)
	}
	s.okCommits = -1
	if err := dropRetired(context.Background(), s, log); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(s.m)); !slices.Equal(got, slices.Sorted(slices.Values(keep))) {
		t.Fatalf("after the cleanup the store holds %q, want %q", got, keep)
	}
	commits := s.commits
	if err := dropRetired(context.Background(), s, log); err != nil {
		t.Fatal(err)
	}
	if s.commits != commits || len(s.m) != len(keep) {
		t.Errorf("a cleanup with nothing to do made %d commits and left %d keys", s.commits-commits, len(s.m))
	}
}
