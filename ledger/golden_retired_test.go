package ledger_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"

	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// retiredStayPrefix is the rules' µs stay index that issue 11 merged into
// the site-stay index: data directories written before hold it.
const retiredStayPrefix = "s/x/stay/"

// TestGoldenDataDirDropsRetiredStays opens the golden data directory, which
// holds the retired stay index, checks that the open deleted it and logged
// so, that nothing else changed but the root-region entries' values (the
// open fills them in), that verify passes, and that the golden
// queries answer what they did.
func TestGoldenDataDirDropsRetiredStays(t *testing.T) {
	g := readGolden(t)
	var retired, kept [][2][]byte
	for _, p := range g.Pairs {
		if bytes.HasPrefix(p[0], []byte(retiredStayPrefix)) {
			retired = append(retired, p)
		} else {
			kept = append(kept, p)
		}
	}
	if len(retired) == 0 {
		t.Fatalf("the golden directory holds no %s entries: it no longer tests the cleanup", retiredStayPrefix)
	}
	t.Logf("%d %s entries of %d", len(retired), retiredStayPrefix, len(g.Pairs))
	store, blobs, key := openGolden(t, g)
	var logged bytes.Buffer
	l, err := ledger.New(store, key, ledger.Options{Blobs: blobs, SweepEvery: -1, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if left := storePairs(t, store, []byte(retiredStayPrefix)); len(left) != 0 {
		t.Fatalf("%d of %d %s entries left after the open", len(left), len(retired), retiredStayPrefix)
	}
	if !bytes.Contains(logged.Bytes(), []byte("deleted retired state entries")) {
		t.Errorf("the open did not log the cleanup: %s", logged.Bytes())
	}
	// Only the retired entries went, and the root-region index entries,
	// written without a value, took their batch's summary (the fill at
	// open, ledger/migrate.go, which leaves its marker): the state and the
	// log are as written otherwise.
	summaries := map[string][]byte{}
	for _, p := range kept {
		if sfx, ok := bytes.CutPrefix(p[0], []byte("s/rsum/")); ok {
			summaries[string(sfx)] = p[1]
		}
	}
	filled := 0
	for i, p := range kept {
		if rest, ok := bytes.CutPrefix(p[0], []byte("s/x/root-region/")); ok {
			_, sfx, _ := bytes.Cut(rest, []byte{0})
			if len(p[1]) != 0 || summaries[string(sfx)] == nil {
				t.Fatalf("golden root-region entry %q: value %q, summary %q", p[0], p[1], summaries[string(sfx)])
			}
			kept[i][1] = summaries[string(sfx)]
			filled++
		}
	}
	if filled == 0 {
		t.Fatal("the golden directory holds no root-region entry: it no longer tests the fill")
	}
	marker := [2][]byte{[]byte("a/migrated/root-region"), []byte("done")}
	i, _ := slices.BinarySearchFunc(kept, marker, func(a, b [2][]byte) int { return bytes.Compare(a[0], b[0]) })
	kept = slices.Insert(kept, i, marker)
	if !bytes.Contains(logged.Bytes(), []byte("copied the batch summaries")) {
		t.Errorf("the open did not log the fill: %s", logged.Bytes())
	}
	all := storePairs(t, store, nil)
	if len(all) != len(kept) {
		t.Fatalf("%d entries after the open, want the %d that are not retired", len(all), len(kept))
	}
	for i := range kept {
		if !bytes.Equal(all[i][0], kept[i][0]) || !bytes.Equal(all[i][1], kept[i][1]) {
			t.Fatalf("entry %q changed at the open", kept[i][0])
		}
	}
	scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	if _, err := ledger.Verify(context.Background(), store, scratch, key.Verifier, nil); err != nil {
		t.Fatalf("verify after the cleanup: %v", err)
	}
	checkGoldenAnswers(t, l, g)
}
