package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// newDemoWorldOnDisk is newDemoWorld keeping the test ledger, for tests that
// look at the store and its files.
func newDemoWorldOnDisk(t *testing.T) (*demoWorld, *fixtures.TestLedger) {
	loadSpec(t)
	env := fixtures.OpenTestLedger(t, ledger.Options{})
	h := &harness{t: t, l: env.L, srv: httptest.NewServer(api.New(env.L,
		api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RatePerSecond: -1}))}
	t.Cleanup(h.srv.Close)
	h.admin = h.client(adminSecret)
	d, err := fixtures.LoadDemo(context.Background(), env.L, env.Admin)
	if err != nil {
		t.Fatal(err)
	}
	return &demoWorld{h: h, demo: d}, env
}

type annexView struct {
	Seq    int64
	SHA256 string
	Salt   string
	Note   string
	People []ledger.Person
}

// commitment recomputes an annex's commitment as a client would, from the
// documented canonical form.
func commitment(t *testing.T, a annexView) string {
	salt, err := hex.DecodeString(a.Salt)
	if err != nil || len(salt) != 32 {
		t.Fatalf("salt %q", a.Salt)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Note   string          `json:"note,omitempty"`
		People []ledger.Person `json:"people,omitempty"`
	}{a.Note, a.People})
	sum := sha256.Sum256(append(salt, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...))
	return hex.EncodeToString(sum[:])
}

// filesContaining lists the files under dir that contain any of needles.
func filesContaining(t *testing.T, dir string, needles ...string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				out = append(out, fmt.Sprintf("%s has %q", filepath.Base(path), n))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAnnexOverHTTP: note and people go into an annex off the log; the
// right keys open it, every read is logged, and an admin's erasure leaves
// no byte of the person in the data directory while the log still
// verifies.
func TestAnnexOverHTTP(t *testing.T) {
	w, env := newDemoWorldOnDisk(t)
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	lot, _ := w.cleanLotInShanghai(t0)
	const name, id, phone = "张三丰", "11010519491231002X", "13812345678"
	const keptName, keptPhone = "李四海", "13987654321"

	// Refused before anything is stored: people on a kind without them, a
	// bad ID number, a client-made annex.
	size := w.h.l.Size()
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "sealed", "lot": lot, "reason": "抽检",
		"people": []map[string]string{{"role": "worker", "name": "王五"}}}).wantProblem(400, "invalid", "people")
	w.key("sh-lab").do("POST", "/v1/events", map[string]any{"kind": "tested", "lot": lot, "samples": 1, "scope": []string{"goods"}, "result": "negative",
		"people": []map[string]string{{"role": "sampler", "name": "王五", "id_number": "110105194912310021"}}}).wantProblem(400, "invalid", "people[0].id_number")
	w.key("sh-lab").do("POST", "/v1/events", map[string]any{"kind": "tested", "lot": lot, "samples": 1, "scope": []string{"goods"}, "result": "negative",
		"people": []map[string]string{{"role": "cook", "name": "王五"}}}).wantProblem(400, "invalid", "people[0].role")
	w.key("sh-lab").do("POST", "/v1/events", map[string]any{"kind": "tested", "lot": lot, "samples": 1, "scope": []string{"goods"}, "result": "negative",
		"annex": map[string]string{"sha256": "00"}}).wantProblem(400, "invalid", "annex")
	if w.h.l.Size() != size {
		t.Fatalf("refusals changed the log")
	}

	test := w.event("sh-lab", map[string]any{"kind": "tested", "at": t0.Add(7 * time.Hour).Format(time.RFC3339), "lot": lot, "samples": 5,
		"scope": []string{"goods"}, "result": "negative", "note": "采样员 " + name + " 手机 " + phone + " 身份证 " + id,
		"people": []map[string]string{{"role": "sampler", "name": name, "id_number": id, "phone": phone}}})
	kept := w.event("sh-disinfector", map[string]any{"kind": "disinfected", "at": t0.Add(7 * time.Hour).Format(time.RFC3339), "lot": lot,
		"scope": []string{"outer_packaging"}, "agent": "过氧乙酸", "people": []map[string]string{{"role": "worker", "name": keptName, "phone": keptPhone}}})

	// The record carries the commitment only.
	body := w.key("sh-lab").do("GET", "/v1/events/"+itoa(test.Seq), nil).want(200).Body
	var rec ledger.Record
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Annex == nil || rec.Note != "" || rec.People != nil {
		t.Fatalf("record %s", body)
	}
	for _, s := range []string{name, id, phone} {
		if bytes.Contains(body, []byte(s)) {
			t.Fatalf("the record holds %q: %s", s, body)
		}
	}

	// Who opens it: the recording lab, Shanghai's regulator, an auditor;
	// not Zhejiang's regulator, not the lot's holder, not the admin.
	w.h.admin.do("POST", "/v1/orgs", map[string]any{"uscc": fixtures.USCC("330106", 990), "name": "审计署驻地办", "roles": []string{"auditor"}, "region": "110101"}).want(201)
	var ak struct{ Key string }
	w.h.admin.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 990), "role": "auditor"}).want(201).JSON(&ak)
	path := "/v1/events/" + itoa(test.Seq) + "/annex"
	for _, k := range []*client{w.key("sh-lab"), w.key("sh-regulator"), w.h.client(ak.Key)} {
		var a annexView
		k.do("GET", path, nil).want(200).JSON(&a)
		if len(a.People) != 1 || a.People[0].Name != name || a.People[0].IDNumber != id || a.People[0].Phone != phone {
			t.Fatalf("annex %+v", a)
		}
		if got := commitment(t, a); got != rec.Annex.SHA256 || a.SHA256 != got {
			t.Fatalf("annex commitment %s (served %s), record says %s", got, a.SHA256, rec.Annex.SHA256)
		}
	}
	for _, k := range []*client{w.key("zj-regulator"), w.key("sh-warehouse"), w.h.admin} {
		k.do("GET", path, nil).wantProblem(403, "forbidden", "")
	}
	w.h.client("").do("GET", path, nil).wantProblem(401, "unauthenticated", "")
	w.key("sh-lab").do("GET", "/v1/events/"+itoa(kept.Seq-2)+"/annex", nil).wantProblem(403, "forbidden", "")
	w.key("sh-regulator").do("GET", "/v1/events/"+itoa(kept.Seq-2)+"/annex", nil).wantProblem(404, "not_found", "")
	w.key("sh-lab").do("GET", "/v1/events/x/annex", nil).wantProblem(400, "invalid", "seq")

	// Every read is in the access log, which only the admin reads.
	var log struct{ Reads []ledger.AnnexRead }
	w.h.admin.do("GET", "/v1/annex-reads?seq="+itoa(test.Seq), nil).want(200).JSON(&log)
	if len(log.Reads) != 3 || log.Reads[0].Org != w.org("sh-lab") || log.Reads[1].Role != "regulator" || log.Reads[2].Role != "auditor" {
		t.Fatalf("access log %+v", log.Reads)
	}
	w.h.admin.do("GET", "/v1/annex-reads", nil).want(200)
	w.h.admin.do("GET", "/v1/annex-reads?seq=x", nil).wantProblem(400, "invalid", "seq")
	w.key("sh-lab").do("GET", "/v1/annex-reads", nil).wantProblem(403, "forbidden", "")

	// Tampering with a stored annex is found by verify.
	var good []byte
	akey := append([]byte("a/annex/"), binary.BigEndian.AppendUint64(nil, uint64(kept.Seq))...)
	env.Store.Update(t.Context(), func(tx ledger.Tx) error {
		good, _ = tx.Get(akey)
		return tx.Set(akey, bytes.Replace(good, []byte(keptName), []byte("李四"), 1))
	})
	if rep, err := ledger.VerifyAnnexes(context.Background(), env.Store); err == nil || len(rep.Mismatched) != 1 || rep.Mismatched[0] != kept.Seq {
		t.Fatalf("a tampered annex passed: %+v %v", rep, err)
	}
	env.Store.Update(t.Context(), func(tx ledger.Tx) error { return tx.Set(akey, good) })

	// Erasure: the admin only, with a reason, once.
	w.key("sh-regulator").do("DELETE", path, map[string]any{"reason": "x"}).wantProblem(403, "forbidden", "")
	w.h.admin.do("DELETE", path, map[string]any{}).wantProblem(400, "invalid", "reason")
	w.h.admin.do("DELETE", "/v1/events/"+itoa(kept.Seq-2)+"/annex", map[string]any{"reason": "PIPL 个人申请删除"}).wantProblem(404, "not_found", "")
	var er struct {
		Seq        int64
		ErasureSeq int64 `json:"erasure_seq"`
		Erased     bool
	}
	w.h.admin.do("DELETE", path, map[string]any{"reason": "PIPL 个人申请删除"}).want(200).JSON(&er)
	w.h.admin.do("DELETE", path, map[string]any{"reason": "again"}).wantProblem(409, "conflict", "")
	w.key("sh-lab").do("GET", path, nil).wantProblem(404, "not_found", "")
	var erasure ledger.Record
	w.h.admin.do("GET", "/v1/events/"+itoa(er.ErasureSeq), nil).want(200).JSON(&erasure)
	if erasure.Kind != ledger.AnnexErased || erasure.Erases != test.Seq {
		t.Fatalf("erasure record %+v", erasure)
	}
	// The kept annex still opens.
	w.key("sh-disinfector").do("GET", "/v1/events/"+itoa(kept.Seq)+"/annex", nil).want(200)

	// The log still verifies; the erased annex is reported apart.
	env.Verify(t)
	rep, err := ledger.VerifyAnnexes(context.Background(), env.Store)
	if err != nil || rep.Annexes != 2 || len(rep.Erased) != 1 || rep.Erased[0] != test.Seq || len(rep.Mismatched) != 0 {
		t.Fatalf("annex report %+v %v", rep, err)
	}

	// No byte of the erased person is left in the data directory; the
	// kept person is (so the search would see what is there). The store is
	// closed first, as after a shutdown: badger then trims its preallocated
	// log files, which are otherwise gigabytes of holes to read.
	w.h.srv.Close()
	env.L.Close()
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	if found := filesContaining(t, env.Dir, name, id, phone); len(found) > 0 {
		t.Fatalf("erased personal data left in the data directory: %v", found)
	}
	if found := filesContaining(t, env.Dir, keptName, keptPhone); len(found) == 0 {
		t.Fatal("the search of the data directory does not find the kept annex either: it proves nothing")
	}
}
