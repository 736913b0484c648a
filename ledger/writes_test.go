package ledger_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/fsblob"
)

// countingStore is a ledger.Store that counts the keys and bytes (key plus
// value; a delete counts its key) that committed Updates write into the
// store under it, by key group (see keyGroup).
type countingStore struct {
	ledger.Store
	mu     sync.Mutex
	writes map[string]writeCount
}

// writeCount is what one key group was written: keys and bytes.
type writeCount struct{ keys, bytes int }

func (s *countingStore) Update(ctx context.Context, fn func(tx ledger.Tx) error) error {
	var mine map[string]writeCount
	err := s.Store.Update(ctx, func(tx ledger.Tx) error {
		mine = map[string]writeCount{} // a retried transaction counts once
		return fn(&tallyTx{Tx: tx, writes: mine})
	})
	if err == nil {
		s.mu.Lock()
		for g, c := range mine {
			t := s.writes[g]
			s.writes[g] = writeCount{t.keys + c.keys, t.bytes + c.bytes}
		}
		s.mu.Unlock()
	}
	return err
}

// take returns the counts since the last take and starts again.
func (s *countingStore) take() map[string]writeCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.writes
	s.writes = map[string]writeCount{}
	return w
}

type tallyTx struct {
	ledger.Tx
	writes map[string]writeCount
}

func (t *tallyTx) Set(k, v []byte) error {
	g := keyGroup(k)
	c := t.writes[g]
	t.writes[g] = writeCount{c.keys + 1, c.bytes + len(k) + len(v)}
	return t.Tx.Set(k, v)
}

func (t *tallyTx) Delete(k []byte) error {
	g := keyGroup(k)
	c := t.writes[g]
	t.writes[g] = writeCount{c.keys + 1, c.bytes + len(k)}
	return t.Tx.Delete(k)
}

// keyGroup names a key by its namespace and table: "l/r" (records), "l/h"
// (stored hashes), "s/lot", "s/x/holder" (an index), "a/idem" and so on.
func keyGroup(k []byte) string {
	parts := bytes.SplitN(k, []byte("/"), 4)
	n := 2
	if len(parts) > 2 && string(parts[0]) == "s" && string(parts[1]) == "x" {
		n = 3
	}
	if len(parts) <= n {
		return string(k)
	}
	return string(bytes.Join(parts[:n], []byte("/")))
}

// column is one column of the writes table: the key groups it adds up.
type column struct {
	name  string
	match func(group string) bool
}

var writeColumns = []column{
	{"log (record, hashes, checkpoint)", func(g string) bool { return strings.HasPrefix(g, "l/") }},
	{"lot state + before-image", func(g string) bool { return g == "s/lot" || g == "s/lotprev" }},
	{"nodes", func(g string) bool { return g == "s/node" }},
	{"indexes", func(g string) bool { return strings.HasPrefix(g, "s/x/") }},
	{"other state", func(g string) bool {
		return strings.HasPrefix(g, "s/") && !strings.HasPrefix(g, "s/x/") && g != "s/lot" && g != "s/lotprev" && g != "s/node"
	}},
	{"aux (a/)", func(g string) bool { return strings.HasPrefix(g, "a/") }},
}

// kindWrites gathers what the records of one kind wrote.
type kindWrites struct {
	records int
	groups  map[string]writeCount
	min     int // fewest keys one record wrote
	max     int
}

// countingRecorder records through a LedgerRecorder and files what each
// submission wrote under its record kind (attachment uploads under
// "(upload)").
type countingRecorder struct {
	fixtures.LedgerRecorder
	store *countingStore
	kinds map[string]*kindWrites
	err   error // the first record whose writes broke a rule of the test
}

func (r *countingRecorder) file(kind string, seq int64) {
	w := r.store.take()
	k := r.kinds[kind]
	if k == nil {
		k = &kindWrites{groups: map[string]writeCount{}, min: 1 << 30}
		r.kinds[kind] = k
	}
	total := 0
	for g, c := range w {
		t := k.groups[g]
		k.groups[g] = writeCount{t.keys + c.keys, t.bytes + c.bytes}
		total += c.keys
	}
	k.records++
	k.min, k.max = min(k.min, total), max(k.max, total)
	if seq < 0 || r.err != nil {
		return
	}
	// Each record is written once into the log, with its hashes.
	rec, err := r.L.Record(context.Background(), seq)
	switch {
	case err != nil:
		r.err = err
	case w["l/r"].keys != 1 || w["l/r"].bytes < len(rec):
		r.err = fmt.Errorf("record %d (%s) wrote %d record keys of %d bytes, want 1 of at least %d", seq, kind, w["l/r"].keys, w["l/r"].bytes, len(rec))
	case w["l/h"].keys == 0:
		r.err = fmt.Errorf("record %d (%s) wrote no stored hash", seq, kind)
	}
}

func (r *countingRecorder) Org(ctx context.Context, uscc, name, region string, roles []string) error {
	err := r.LedgerRecorder.Org(ctx, uscc, name, region, roles)
	r.file(string(ledger.OrgRegistered), r.L.Size()-1)
	return err
}

func (r *countingRecorder) Site(ctx context.Context, id, org, name, typ, region, address string) error {
	err := r.LedgerRecorder.Site(ctx, id, org, name, typ, region, address)
	r.file(string(ledger.SiteRegistered), r.L.Size()-1)
	return err
}

func (r *countingRecorder) Key(ctx context.Context, org, role string, regions []string) (ledger.Principal, string, error) {
	p, s, err := r.LedgerRecorder.Key(ctx, org, role, regions)
	r.file("key_created", r.L.Size()-1)
	return p, s, err
}

func (r *countingRecorder) Upload(ctx context.Context, a fixtures.Actor, contentType string, data []byte) (string, error) {
	sha, err := r.LedgerRecorder.Upload(ctx, a, contentType, data)
	r.file("(upload)", -1)
	return sha, err
}

func (r *countingRecorder) Event(ctx context.Context, a fixtures.Actor, ev ledger.Event) (*ledger.Receipt, error) {
	rc, err := r.LedgerRecorder.Event(ctx, a, ev)
	seq := int64(-1)
	if rc != nil {
		seq = rc.Seq
	}
	r.file(string(ev.Kind), seq)
	return rc, err
}

// TestWritesPerEvent records the demo (its lots' lives: declared, tested,
// disinfected, shipped, received, released, sold, transformed, a positive
// and its seals, findings...) one submission at a time through a store that
// counts what each commit writes, and prints the keys and bytes written per
// record kind, split by what they are for. README and docs/decisions.md
// quote the table (`go test -run TestWritesPerEvent -v ./ledger/`).
func TestWritesPerEvent(t *testing.T) {
	dir := t.TempDir()
	_, key, err := vlog.GenerateKey("test.example/log")
	if err != nil {
		t.Fatal(err)
	}
	db, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs := &countingStore{Store: db, writes: map[string]writeCount{}}
	l, err := ledger.New(cs, key, ledger.Options{SweepEvery: -1, Blobs: fsblob.New(filepath.Join(dir, "blobs"))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if _, err := l.Bootstrap(ctx, adminSecret); err != nil {
		t.Fatal(err)
	}
	admin, err := l.Authenticate(context.Background(), adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	cs.take()
	rec := &countingRecorder{LedgerRecorder: fixtures.LedgerRecorder{L: l, Admin: admin}, store: cs, kinds: map[string]*kindWrites{}}
	if _, err := fixtures.RecordDemo(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if rec.err != nil {
		t.Fatal(rec.err)
	}
	for _, kind := range lifeKinds {
		if rec.kinds[string(kind)] == nil {
			t.Fatalf("the demo recorded no %s: the table would not show a lot's life", kind)
		}
	}
	t.Log("\n" + writesTable(rec.kinds) + "\n" + groupsTable(rec.kinds))
}

// groupsTable renders what the records of a lot's life wrote, by key group,
// the most keys first.
func groupsTable(kinds map[string]*kindWrites) string {
	sum, records := map[string]writeCount{}, 0
	for _, k := range lifeKinds {
		w := kinds[string(k)]
		records += w.records
		for g, c := range w.groups {
			t := sum[g]
			sum[g] = writeCount{t.keys + c.keys, t.bytes + c.bytes}
		}
	}
	groups := slices.Collect(maps.Keys(sum))
	slices.SortFunc(groups, func(a, b string) int { return cmp.Or(sum[b].keys-sum[a].keys, strings.Compare(a, b)) })
	var b strings.Builder
	fmt.Fprintf(&b, "| key group (%d lot-life records) | keys/record | bytes/record |\n|---|--:|--:|\n", records)
	for _, g := range groups {
		fmt.Fprintf(&b, "| `%s` | %.2f | %.0f |\n", g, float64(sum[g].keys)/float64(records), float64(sum[g].bytes)/float64(records))
	}
	return b.String()
}

// lifeKinds are the kinds of a lot's life, in its order: the table's first
// rows.
var lifeKinds = []ledger.EventKind{ledger.Declared, ledger.Shipped, ledger.Received, ledger.Tested, ledger.Disinfected, ledger.Released, ledger.Sold}

// writesTable renders the kinds as a Markdown table, the lot kinds first in
// the order of a lot's life.
func writesTable(kinds map[string]*kindWrites) string {
	var order []string
	for _, k := range lifeKinds {
		order = append(order, string(k))
	}
	var rest []string
	for k := range kinds {
		if !slices.Contains(order, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	var b strings.Builder
	b.WriteString("| kind | records | keys/record (min-max) | bytes/record |")
	for _, c := range writeColumns {
		fmt.Fprintf(&b, " %s keys |", c.name)
	}
	b.WriteString("\n|---|--:|--:|--:|" + strings.Repeat("--:|", len(writeColumns)) + "\n")
	var all kindWrites
	all.groups = map[string]writeCount{}
	all.min = 1 << 30
	for _, k := range append(order, rest...) {
		w := kinds[k]
		if w == nil {
			continue
		}
		if k != "(upload)" {
			all.records += w.records
			all.min, all.max = min(all.min, w.min), max(all.max, w.max)
			for g, c := range w.groups {
				t := all.groups[g]
				all.groups[g] = writeCount{t.keys + c.keys, t.bytes + c.bytes}
			}
		}
		writeRow(&b, k, w)
	}
	writeRow(&b, "**every record**", &all)
	return b.String()
}

func writeRow(b *strings.Builder, name string, w *kindWrites) {
	keys, by := 0, 0
	for _, c := range w.groups {
		keys += c.keys
		by += c.bytes
	}
	n := float64(w.records)
	fmt.Fprintf(b, "| %s | %d | %.1f (%d-%d) | %.0f |", name, w.records, float64(keys)/n, w.min, w.max, float64(by)/n)
	for _, col := range writeColumns {
		k := 0
		for g, c := range w.groups {
			if col.match(g) {
				k += c.keys
			}
		}
		fmt.Fprintf(b, " %.1f |", float64(k)/n)
	}
	b.WriteString("\n")
}
