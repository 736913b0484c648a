package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
)

const adminSecret = "test-admin-secret-0123456789"

// env is a ledger on a real badger database in a temp dir
// (fixtures.OpenTestLedger).
type env struct {
	t     testing.TB
	tl    *fixtures.TestLedger
	dir   string
	store *badgerkv.Store
	key   *vlog.Key
	l     *ledger.Ledger
	admin ledger.Principal
}

func newEnv(t testing.TB) *env {
	t.Helper()
	tl := fixtures.OpenTestLedger(t, ledger.Options{})
	e := &env{t: t, tl: tl, dir: tl.Dir, key: tl.Key, admin: tl.Admin}
	e.l, e.store = tl.L, tl.Store
	return e
}

func (e *env) close() {
	e.tl.Close()
	e.l = nil
}

func (e *env) reopen() {
	e.tl.Reopen(e.t)
	e.l, e.store = e.tl.L, e.tl.Store
}

// uscc returns the n-th valid test code (of region 310000).
func uscc(n int) string { return fixtures.USCC("310000", n) }

func orgEvent(n int) ledger.Event {
	return ledger.Event{Kind: ledger.OrgRegistered, USCC: uscc(n), Name: fmt.Sprintf("测试进口商 %d", n),
		Roles: []string{ledger.RoleImporter}, Region: "310115"}
}

func (e *env) submit(p ledger.Principal, ev ledger.Event) *ledger.Receipt {
	e.t.Helper()
	r, err := e.l.Submit(context.Background(), p, ev, "")
	if err != nil {
		e.t.Fatalf("Submit %s: %v", ev.Kind, err)
	}
	return r
}

func (e *env) verify() *ledger.VerifyReport {
	e.t.Helper()
	scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		e.t.Fatal(err)
	}
	defer scratch.Close()
	rep, err := ledger.Verify(context.Background(), e.store, scratch, e.key.Verifier, nil)
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return rep
}

func TestRegistry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.submit(e.admin, orgEvent(1))
	if r.Seq != 1 || r.Checkpoint.Size != 2 {
		t.Fatalf("receipt %+v: want seq 1 in a tree of 2", r)
	}
	org, err := e.l.Org(t.Context(), uscc(1))
	if err != nil || org.Name != "测试进口商 1" || org.Seq != 1 {
		t.Fatalf("Org = %+v, %v", org, err)
	}
	e.submit(e.admin, ledger.Event{Kind: ledger.SiteRegistered, Site: "SH-CS-01", Org: uscc(1), Name: "洋山冷库",
		Type: "cold_store", Region: "310115", Address: "上海市浦东新区"})
	kr, secret, err := e.l.CreateKey(ctx, e.admin, ledger.Event{Org: uscc(1), Role: ledger.RoleImporter}, "")
	if err != nil || secret == "" {
		t.Fatalf("CreateKey: %v", err)
	}
	p, err := e.l.Authenticate(t.Context(), secret)
	if err != nil || p.Org != uscc(1) || p.Role != ledger.RoleImporter {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	// An importer key may not register orgs.
	if _, err := e.l.Submit(ctx, p, orgEvent(2), ""); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("importer registering an org: %v, want Forbidden", err)
	}
	k, err := e.l.KeyOfRecord(t.Context(), kr.Seq)
	if err != nil {
		t.Fatal(err)
	}
	e.submit(e.admin, ledger.Event{Kind: ledger.KeyRevoked, Key: k.ID})
	if _, err := e.l.Authenticate(t.Context(), secret); fault.KindOf(err) != fault.Unauthenticated {
		t.Fatalf("revoked key authenticates: %v", err)
	}
	if _, err := e.l.Submit(ctx, e.admin, ledger.Event{Kind: ledger.KeyRevoked, Key: k.ID}, ""); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("revoking twice: %v, want Conflict", err)
	}
	if _, err := e.l.Submit(ctx, e.admin, ledger.Event{Kind: ledger.KeyRevoked, Key: e.admin.Key}, ""); fault.KindOf(err) != fault.Rejected {
		t.Fatalf("admin revoking itself: %v, want Rejected", err)
	}
	if _, err := e.l.Authenticate(t.Context(), "nope"); fault.KindOf(err) != fault.Unauthenticated {
		t.Fatalf("unknown key: %v", err)
	}
	e.verify()
}

// TestRevocationUnderLoad revokes keys while other goroutines keep
// authenticating with them: once the revocation is acknowledged, no
// Authenticate may succeed, cached or not.
func TestRevocationUnderLoad(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.submit(e.admin, orgEvent(1))
	for round := 0; round < 20; round++ {
		kr, secret, err := e.l.CreateKey(ctx, e.admin, ledger.Event{Org: uscc(1), Role: ledger.RoleImporter}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.l.Authenticate(t.Context(), secret); err != nil {
			t.Fatalf("new key: %v", err)
		}
		var revoked atomic.Bool
		var wg sync.WaitGroup
		failures := make(chan string, 4)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 200; i++ {
					after := revoked.Load() // read before authenticating
					_, err := e.l.Authenticate(t.Context(), secret)
					if after && err == nil {
						failures <- "a revoked key authenticated"
						return
					}
				}
			}()
		}
		k, err := e.l.KeyOfRecord(t.Context(), kr.Seq)
		if err != nil {
			t.Fatal(err)
		}
		e.submit(e.admin, ledger.Event{Kind: ledger.KeyRevoked, Key: k.ID})
		revoked.Store(true)
		wg.Wait()
		close(failures)
		if f, ok := <-failures; ok {
			t.Fatalf("round %d: %s", round, f)
		}
		if _, err := e.l.Authenticate(t.Context(), secret); fault.KindOf(err) != fault.Unauthenticated {
			t.Fatalf("round %d: revoked key: %v", round, err)
		}
	}
}

func TestRejectionsChangeNothing(t *testing.T) {
	e := newEnv(t)
	e.submit(e.admin, orgEvent(1))
	before := e.l.Size()
	ctx := context.Background()
	bad := orgEvent(2)
	bad.USCC = bad.USCC[:17] + "0"
	if bad.USCC == uscc(2) {
		bad.USCC = bad.USCC[:17] + "1"
	}
	cases := []struct {
		ev    ledger.Event
		kind  fault.Kind
		field string
	}{
		{bad, fault.Invalid, "uscc"},
		{func() ledger.Event { ev := orgEvent(3); ev.Region = "990000"; return ev }(), fault.Invalid, "region"},
		{func() ledger.Event { ev := orgEvent(3); ev.Roles = []string{"pirate"}; return ev }(), fault.Invalid, "roles[0]"},
		{func() ledger.Event { ev := orgEvent(3); ev.Name = ""; return ev }(), fault.Invalid, "name"},
		{orgEvent(1), fault.Conflict, "uscc"},
		{ledger.Event{Kind: ledger.SiteRegistered, Site: "S1", Org: uscc(9), Name: "x", Type: "cold_store", Region: "310115"}, fault.Rejected, "org"},
		{ledger.Event{Kind: ledger.SiteRegistered, Site: "bad id!", Org: uscc(1), Name: "x", Type: "igloo", Region: "310115"}, fault.Invalid, "id"},
		{ledger.Event{Kind: "teleported"}, fault.Invalid, "kind"},
	}
	for _, c := range cases {
		_, err := e.l.Submit(ctx, e.admin, c.ev, "")
		var le *fault.Error
		if !errors.As(err, &le) || le.Kind != c.kind {
			t.Errorf("%s %+v: got %v, want %v", c.ev.Kind, c.ev, err, c.kind)
			continue
		}
		if c.field != "" && (len(le.Fields) == 0 || le.Fields[0].Field != c.field) {
			t.Errorf("%s: fields %+v, want %s first", c.ev.Kind, le.Fields, c.field)
		}
	}
	// The override registers a legally issued code that fails the check, and
	// the record keeps it.
	bad.USCCOverride = "pilot-era code, licence 2015-0042"
	r := e.submit(e.admin, bad)
	data, _ := e.l.Record(t.Context(), r.Seq)
	if !strings.Contains(string(data), `"uscc_override":"pilot-era code, licence 2015-0042"`) {
		t.Errorf("record does not keep the override: %s", data)
	}
	if e.l.Size() != before+1 {
		t.Fatalf("size %d, want %d: a rejected submission was recorded", e.l.Size(), before+1)
	}
	e.verify()
}

// TestConcurrentGroupCommit submits from many goroutines at once: every
// submission gets its own seq, groups share commits, and the log verifies.
func TestConcurrentGroupCommit(t *testing.T) {
	e := newEnv(t)
	const writers, each = 64, 20
	var wg sync.WaitGroup
	seqs := make(chan int64, writers*each)
	sizes := make(chan int64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := e.l.Submit(context.Background(), e.admin, orgEvent(w*each+i+1), "")
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- r.Seq
				sizes <- r.Checkpoint.Size
			}
		}(w)
	}
	wg.Wait()
	close(seqs)
	close(sizes)
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("seq %d given twice", s)
		}
		seen[s] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d receipts, want %d", len(seen), writers*each)
	}
	distinct := map[int64]bool{}
	for s := range sizes {
		distinct[s] = true
	}
	if len(distinct) >= writers*each {
		t.Errorf("every submission had its own commit (%d checkpoints): no grouping", len(distinct))
	}
	rep := e.verify()
	if rep.Size != writers*each+1 {
		t.Fatalf("verified %d records, want %d", rep.Size, writers*each+1)
	}
	t.Logf("%d records in %d group commits", rep.Size, rep.Checkpoints)
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r1, err := e.l.Submit(ctx, e.admin, orgEvent(1), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.l.Submit(ctx, e.admin, orgEvent(1), "req-1")
	if err != nil || !r2.Replayed || r2.Seq != r1.Seq || r2.ID != r1.ID || r2.Checkpoint != r1.Checkpoint {
		t.Fatalf("retry: %+v, %v; want the first receipt %+v replayed", r2, err, r1)
	}
	if _, err := e.l.Submit(ctx, e.admin, orgEvent(2), "req-1"); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("same key, other body: %v, want Conflict", err)
	}
	// Concurrent retries of one request land in one record.
	var wg sync.WaitGroup
	got := make(chan int64, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.l.Submit(ctx, e.admin, orgEvent(3), "req-3")
			if err != nil {
				t.Error(err)
				return
			}
			got <- r.Seq
		}()
	}
	wg.Wait()
	close(got)
	var first int64 = -1
	for s := range got {
		if first >= 0 && s != first {
			t.Fatalf("concurrent retries recorded twice: seqs %d and %d", first, s)
		}
		first = s
	}
	if e.l.Size() != 3 {
		t.Fatalf("size %d, want 3 (bootstrap + 2 orgs)", e.l.Size())
	}
	// Key creation retried: same key, no second secret.
	k1, s1, err := e.l.CreateKey(ctx, e.admin, ledger.Event{Org: uscc(1), Role: ledger.RoleImporter}, "key-1")
	if err != nil || s1 == "" {
		t.Fatal(err)
	}
	k2, s2, err := e.l.CreateKey(ctx, e.admin, ledger.Event{Org: uscc(1), Role: ledger.RoleImporter}, "key-1")
	if err != nil || s2 != "" || k2.Seq != k1.Seq {
		t.Fatalf("key retry: seq %d secret %q err %v", k2.Seq, s2, err)
	}
}

func TestProofsCheckWithStockTlog(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 40; i++ {
		e.submit(e.admin, orgEvent(i))
	}
	n := e.l.Size()
	for size := int64(1); size <= n; size += 3 {
		for seq := int64(0); seq < size; seq += 2 {
			p, err := e.l.ProveInclusion(t.Context(), seq, size)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := e.l.Record(t.Context(), seq)
			if tlog.RecordHash(data) != p.RecordHash {
				t.Fatalf("record %d hash differs from the proof's", seq)
			}
			if err := tlog.CheckRecord(p.Proof, size, p.Root, seq, p.RecordHash); err != nil {
				t.Fatalf("CheckRecord(seq %d, size %d): %v", seq, size, err)
			}
			if seq+1 < size {
				if err := tlog.CheckRecord(p.Proof, size, p.Root, seq+1, p.RecordHash); err == nil {
					t.Fatalf("a proof for %d also proves %d", seq, seq+1)
				}
			}
		}
		c, err := e.l.ProveConsistency(t.Context(), size, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(c.Proof, n, c.ToRoot, size, c.FromRoot); err != nil {
			t.Fatalf("CheckTree(%d, %d): %v", size, n, err)
		}
	}
	_, cp, err := e.l.SignedCheckpoint()
	if err != nil || cp.Size != n {
		t.Fatalf("checkpoint %+v, %v", cp, err)
	}
	if _, err := e.l.ProveInclusion(t.Context(), n, n); fault.KindOf(err) != fault.Invalid {
		t.Errorf("proof of a record beyond the tree: %v", err)
	}
	if _, err := e.l.ProveInclusion(t.Context(), 0, n+1); fault.KindOf(err) != fault.Invalid {
		t.Errorf("proof in a tree larger than the log: %v", err)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 10; i++ {
		e.submit(e.admin, orgEvent(i))
	}
	msg, cp, _ := e.l.SignedCheckpoint()
	e.reopen()
	msg2, cp2, err := e.l.SignedCheckpoint()
	if err != nil || cp2 != cp || string(msg2) != string(msg) {
		t.Fatalf("after restart checkpoint %+v, want %+v", cp2, cp)
	}
	r := e.submit(e.admin, orgEvent(11))
	if r.Seq != cp.Size {
		t.Fatalf("next seq after restart %d, want %d", r.Seq, cp.Size)
	}
	e.verify()
}

// rewrite replaces the value of key k through badger itself, so that badger's
// own checksums still pass: only the ledger's hashes can notice.
func (e *env) rewrite(k []byte, change func([]byte) []byte) {
	e.t.Helper()
	err := e.store.Update(context.Background(), func(tx ledger.Tx) error {
		v, err := tx.Get(k)
		if err != nil {
			return err
		}
		return tx.Set(k, change(v))
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func recordKey(seq int64) []byte {
	k := []byte("l/r/\x00\x00\x00\x00\x00\x00\x00\x00")
	for i := 0; i < 8; i++ {
		k[4+i] = byte(seq >> (56 - 8*i))
	}
	return k
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name string
		do   func(e *env)
		want string
	}{
		{"record bytes", func(e *env) {
			e.rewrite(recordKey(5), func(v []byte) []byte {
				return []byte(strings.Replace(string(v), "测试进口商", "测试出口商", 1))
			})
		}, "record 5:"},
		{"record re-encoded", func(e *env) {
			e.rewrite(recordKey(3), func(v []byte) []byte { return append([]byte(" "), v...) })
		}, "record 3:"},
		{"derived state", func(e *env) {
			e.rewrite([]byte("s/org/"+uscc(4)), func(v []byte) []byte {
				return []byte(strings.Replace(string(v), `"region":"310115"`, `"region":"330106"`, 1))
			})
		}, "differs from the state the records give"},
		{"extra state", func(e *env) {
			e.rewrite([]byte("s/org/"+uscc(4)), func(v []byte) []byte { return v })
			if err := e.store.Update(t.Context(), func(tx ledger.Tx) error { return tx.Set([]byte("s/org/X"), []byte("{}")) }); err != nil {
				e.t.Fatal(err)
			}
		}, "not derived from any record"},
		{"missing state", func(e *env) {
			if err := e.store.Update(t.Context(), func(tx ledger.Tx) error { return tx.Delete([]byte("s/org/" + uscc(2))) }); err != nil {
				e.t.Fatal(err)
			}
		}, "is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for i := 1; i <= 12; i++ {
				e.submit(e.admin, orgEvent(i))
			}
			e.verify()
			c.do(e)
			scratch, _ := badgerkv.Open("", badgerkv.Options{InMemory: true})
			defer scratch.Close()
			_, err := ledger.Verify(context.Background(), e.store, scratch, e.key.Verifier, nil)
			if fault.KindOf(err) != fault.Tampered || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %v, want Tampered naming %q", err, c.want)
			}
		})
	}
}

func TestOpenRefusesAlteredTree(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 5; i++ {
		e.submit(e.admin, orgEvent(i))
	}
	// The tree of 6 records has the hash of records 0-3 (level 2) as its
	// left subtree, which the root is computed from.
	k := recordKey(tlog.StoredHashIndex(2, 0))
	copy(k, "l/h/")
	e.rewrite(k, func(v []byte) []byte {
		w := append([]byte(nil), v...)
		w[0] ^= 1
		return w
	})
	e.close()
	store, err := badgerkv.Open(filepath.Join(e.dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := ledger.New(store, e.key, ledger.Options{}); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("New on an altered tree: %v, want Tampered", err)
	}
}

// openWrapped opens a bootstrapped ledger on badger in a temp dir, through
// wrap (a Store that misbehaves on purpose), with a blob folder; it returns
// the ledger, the badger store under the wrapper, the log key and the admin.
func openWrapped(t *testing.T, wrap func(ledger.Store) ledger.Store) (*ledger.Ledger, *badgerkv.Store, *vlog.Key, ledger.Principal) {
	tl := fixtures.OpenTestLedgerOn(t, ledger.Options{}, fixtures.TestStore{Wrap: wrap})
	return tl.L, tl.Store, tl.Key, tl.Admin
}

// slowSyncStore is a Store whose Sync takes a fixed time, like a slow disk.
type slowSyncStore struct {
	ledger.Store
	delay time.Duration
}

func (s slowSyncStore) Sync() error {
	time.Sleep(s.delay)
	return s.Store.Sync()
}

// TestGroupsGrowWhileSyncing checks group commit on a slow disk: the
// submissions that arrive while a group is being synced join the next group
// (one sync, one checkpoint for them all), every one is answered in order,
// and the log verifies.
func TestGroupsGrowWhileSyncing(t *testing.T) {
	ctx := context.Background()
	l, store, key, admin := openWrapped(t, func(s ledger.Store) ledger.Store { return slowSyncStore{Store: s, delay: 20 * time.Millisecond} })
	const writers, each = 32, 10
	before := l.WriteStats()
	var wg sync.WaitGroup
	seqs := make(chan int64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := l.Submit(ctx, admin, orgEvent(2+w*each+i), "")
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- r.Seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		seen[s] = true
	}
	if len(seen) != writers*each || l.Size() != 1+writers*each {
		t.Fatalf("%d distinct receipts, log size %d; want %d records after the bootstrap", len(seen), l.Size(), writers*each)
	}
	ws := l.WriteStats()
	groups, syncs := ws.Groups-before.Groups, ws.Syncs-before.Syncs
	// Each writer has one submission in flight, so a group can hold up to
	// 32; with a 20 ms sync, groups that did not grow would number about one
	// per writer round (10 rounds × several groups each).
	if perGroup := float64(writers*each) / float64(groups); perGroup < 8 {
		t.Errorf("%d groups for %d records (%.1f per group), %d syncs: groups did not grow while syncing", groups, writers*each, perGroup, syncs)
	}
	if groups > syncs+1 {
		t.Errorf("%d groups but %d syncs: more than one group per sync", groups, syncs)
	}
	(&env{t: t, store: store, key: key}).verify()
}

// otherVerifier is a signer that publishes another key's verifier.
type otherVerifier struct {
	*vlog.Key
	other *vlog.Key
}

func (o otherVerifier) VerifierKey() string { return o.other.VerifierKey() }

// TestNewTakesASigner checks that New works with any Signer, refuses one
// whose published verifier key is not its own, and that the log's origin
// is the signer's name.
func TestNewTakesASigner(t *testing.T) {
	store, err := badgerkv.Open(filepath.Join(t.TempDir(), "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, k1, _ := vlog.GenerateKey("test.example/one")
	_, k2, _ := vlog.GenerateKey("test.example/one")
	if _, err := ledger.New(store, otherVerifier{k1, k2}, ledger.Options{SweepEvery: -1}); err == nil {
		t.Fatal("New took a signer whose verifier key is another key's")
	}
	l, err := ledger.New(store, k1, ledger.Options{SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Origin() != "test.example/one" || l.VerifierKey() != k1.VerifierKey() {
		t.Fatalf("origin %q, verifier key %q", l.Origin(), l.VerifierKey())
	}
}
