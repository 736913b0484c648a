package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// ack is one write the server acknowledged: a record at seq of kind,
// whose body holds want (an org's code; "" to check the kind only), or an
// uploaded attachment (seq -1) with its hash and bytes.
type ack struct {
	seq  int64
	kind string
	want string
	sha  string
	data []byte
}

// crashRounds is how many times TestCrashLosesNothingAcknowledged kills the
// server.
const crashRounds = 20

// TestCrashLosesNothingAcknowledged kills the server with SIGKILL in the
// middle of a mixed load of concurrent writers (single registry writes,
// batches of events, attachment uploads), 20 times at different points, and
// checks after each restart that every acknowledged record is there with
// the bytes read before the crash, that every acknowledged attachment reads
// back whole, and that verify passes.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dir := t.TempDir()
	var acks []ack
	seen := map[int64][]byte{} // record bytes read while the server ran
	var disinfector string
	for round := 0; round < crashRounds; round++ {
		after := []time.Duration{40, 150, 300, 700}[round%4] * time.Millisecond
		s := startServer(t, dir)
		if round == 0 {
			disinfector = setupDisinfector(t, s)
		}
		got, read := load(t, s, round, after, disinfector)
		acks = append(acks, got...)
		for k, v := range read {
			seen[k] = v
		}
		t.Logf("round %d: %d acknowledged before kill -9 at %v", round, len(got), after)

		s2 := startServer(t, dir)
		size := treeSize(t, s2.URL)
		recs := records(t, s2.URL, 0, size)
		c := &http.Client{Timeout: 10 * time.Second}
		for _, a := range acks {
			if a.seq < 0 {
				if round == crashRounds-1 || len(acks) < 200 {
					checkAttachment(t, c, s2.URL, a)
				}
				continue
			}
			if a.seq >= size {
				t.Fatalf("acknowledged record %d is gone: tree size after restart %d", a.seq, size)
			}
			var r struct {
				Kind string `json:"kind"`
				USCC string `json:"uscc"`
			}
			if err := json.Unmarshal(recs[a.seq], &r); err != nil || r.Kind != a.kind || (a.want != "" && r.USCC != a.want) {
				t.Fatalf("record %d after restart is %s, want the %s %s acknowledged before", a.seq, recs[a.seq], a.kind, a.want)
			}
		}
		for seq, b := range seen {
			if !bytes.Equal(recs[seq], b) {
				t.Fatalf("record %d changed across the crash:\nbefore %s\nafter  %s", seq, b, recs[seq])
			}
		}
		s2.stop()
		out, code := runCLI(t, "verify", "--data", dir)
		if code != 0 || !strings.HasPrefix(out, "ok:") {
			t.Fatalf("verify after round %d: exit %d\n%s", round, code, out)
		}
	}
	kinds := map[string]int{}
	for _, a := range acks {
		kinds[a.kind]++
	}
	if kinds["org_registered"] == 0 || kinds["site_disinfected"] == 0 || kinds["attachment"] == 0 {
		t.Fatalf("acknowledged %v: the load did not mix its writes", kinds)
	}
	t.Logf("acknowledged over %d crashes: %v", crashRounds, kinds)
}

// setupDisinfector registers a disinfector org with a site and returns its
// key, for the batches of site_disinfected events.
func setupDisinfector(t testing.TB, s *server) string {
	c := &http.Client{}
	uscc := testUSCC(99, 1)
	if code := call(t, c, "POST", s.URL+"/v1/orgs", adminKey, map[string]any{"uscc": uscc, "name": "消毒公司",
		"roles": []string{"disinfector"}, "region": "330106"}, nil); code != 201 {
		t.Fatalf("org: %d", code)
	}
	if code := call(t, c, "POST", s.URL+"/v1/sites", adminKey, map[string]any{"id": "CRASH-1", "org": uscc, "name": "冷库",
		"type": "cold_store", "region": "330106"}, nil); code != 201 {
		t.Fatalf("site: %d", code)
	}
	var k struct{ Key string }
	if code := call(t, c, "POST", s.URL+"/v1/keys", adminKey, map[string]any{"org": uscc, "role": "disinfector"}, &k); code != 201 {
		t.Fatalf("key: %d", code)
	}
	return k.Key
}

// checkAttachment reads an acknowledged attachment back.
func checkAttachment(t *testing.T, c *http.Client, base string, a ack) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/attachments/"+a.sha, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(buf.Bytes(), a.data) {
		t.Fatalf("acknowledged attachment %s after restart: %d, %d bytes (want %d)", a.sha, resp.StatusCode, buf.Len(), len(a.data))
	}
}

// load runs 32 writers against s and kills s after the given time: half
// register orgs one at a time, a quarter send batches of four events, a
// quarter upload attachments. It returns the acknowledged writes and some
// record bytes read back while the server ran.
func load(t *testing.T, s *server, round int, after time.Duration, disinfector string) ([]ack, map[int64][]byte) {
	var (
		mu    sync.Mutex
		acks  []ack
		read  = map[int64][]byte{}
		next  atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
		tr    = &http.Transport{MaxIdleConnsPerHost: 64}
		httpc = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	)
	defer tr.CloseIdleConnections()
	post := func(path, key, ct string, body []byte) (int, []byte, bool) {
		req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", ct)
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, nil, false // the server is gone
		}
		var buf bytes.Buffer
		_, rerr := buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return 0, nil, false // cut while answering: not acknowledged
		}
		return resp.StatusCode, buf.Bytes(), true
	}
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				n := int(next.Add(1))
				var got []ack
				var code int
				var ok bool
				switch w % 4 {
				case 0, 1:
					body := orgBody(round+1, n)
					b, _ := json.Marshal(body)
					var data []byte
					if code, data, ok = post("/v1/orgs", adminKey, "application/json", b); ok && code == http.StatusCreated {
						var org struct {
							Seq int64 `json:"seq"`
						}
						json.Unmarshal(data, &org)
						got = append(got, ack{seq: org.Seq, kind: "org_registered", want: body["uscc"].(string)})
					}
				case 2:
					var lines []string
					for i := 0; i < 4; i++ {
						lines = append(lines, fmt.Sprintf(`{"kind":"site_disinfected","site":"CRASH-1","agent":"chlorine %d-%d-%d"}`, round, n, i))
					}
					var data []byte
					if code, data, ok = post("/v1/events/batch", disinfector, "application/x-ndjson", []byte(strings.Join(lines, "\n"))); ok && code == http.StatusOK {
						for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
							var r struct {
								Seq    int64 `json:"seq"`
								Status int   `json:"status"`
							}
							json.Unmarshal(line, &r)
							if r.Status != 0 {
								if r.Status != http.StatusServiceUnavailable {
									t.Errorf("batch line: %s", line)
								}
								continue
							}
							got = append(got, ack{seq: r.Seq, kind: "site_disinfected"})
						}
					}
				case 3:
					content := []byte(fmt.Sprintf("time,temperature_c\n2026-11-01T00:00:00Z,-%d.%d\n", round, n))
					var data []byte
					if code, data, ok = post("/v1/attachments", adminKey, "text/csv", content); ok && code == http.StatusCreated {
						var a struct{ SHA256 string }
						json.Unmarshal(data, &a)
						got = append(got, ack{seq: -1, kind: "attachment", sha: a.SHA256, data: content})
					}
				}
				if !ok {
					return
				}
				if len(got) == 0 && code != http.StatusServiceUnavailable && !(w%4 == 2 && code == http.StatusOK) {
					t.Errorf("writer %d: %d", w, code)
					return
				}
				mu.Lock()
				acks = append(acks, got...)
				mu.Unlock()
			}
		}()
	}
	// A reader keeps fetching the latest records while the writers run.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			resp, err := httpc.Get(s.URL + "/v1/log/checkpoint")
			if err != nil {
				return
			}
			resp.Body.Close()
			mu.Lock()
			var last int64 = -1
			for i := len(acks) - 1; i >= 0; i-- {
				if acks[i].seq >= 0 {
					last = acks[i].seq
					break
				}
			}
			mu.Unlock()
			if last < 0 {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/log/records?start=%d&end=%d", s.URL, last, last+1), nil)
			req.Header.Set("Authorization", "Bearer "+adminKey) // record bodies need a key
			resp, err = httpc.Do(req)
			if err != nil {
				return
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && buf.Len() > 1 {
				mu.Lock()
				read[last] = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
				mu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(after)
	s.kill()
	stop.Store(true)
	wg.Wait()
	return acks, read
}

// TestVerifyNamesTamperedRecord rewrites one stored record through badger
// itself (so badger's checksums pass) and expects verify to fail naming it.
func TestVerifyNamesTamperedRecord(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := &http.Client{}
	for i := 1; i <= 30; i++ {
		if code := call(t, c, "POST", s.URL+"/v1/orgs", adminKey, orgBody(9, i), nil); code != 201 {
			t.Fatalf("POST /v1/orgs: %d", code)
		}
	}
	s.stop()
	if out, code := runCLI(t, "verify", "--data", dir); code != 0 {
		t.Fatalf("verify before tampering: exit %d\n%s", code, out)
	}

	store, err := badgerkv.Open(dir+"/db", badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const victim = 17
	k := append([]byte("l/r/"), 0, 0, 0, 0, 0, 0, 0, victim)
	err = store.Update(t.Context(), func(tx ledger.Tx) error {
		v, err := tx.Get(k)
		if err != nil {
			return err
		}
		return tx.Set(k, bytes.Replace(v, []byte("测试冷链"), []byte("测试冷练"), 1))
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, code := runCLI(t, "verify", "--data", dir)
	if code == 0 {
		t.Fatalf("verify passed a tampered ledger:\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf("record %d:", victim)) {
		t.Fatalf("verify did not name record %d:\n%s", victim, out)
	}
	t.Log(strings.TrimSpace(out))
}

func TestKeysPrintsVerifierKey(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	resp, err := http.Get(s.URL + "/v1/log/key")
	if err != nil {
		t.Fatal(err)
	}
	var served bytes.Buffer
	served.ReadFrom(resp.Body)
	resp.Body.Close()
	s.stop()
	out, code := runCLI(t, "keys", "--data", dir)
	if code != 0 || strings.TrimSpace(out) != strings.TrimSpace(served.String()) || !strings.HasPrefix(out, "coldtrace.local/ledger+") {
		t.Fatalf("keys printed %q (exit %d), server serves %q", out, code, served.String())
	}
}

// TestVerifyReadOnlyCopy runs verify on a read-only view of a stopped
// server's data directory (a read-only bind mount when the test runs as
// root, else files without write permission): verify opens badger
// read-only and passes.
func TestVerifyReadOnlyCopy(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := &http.Client{}
	for i := 1; i <= 10; i++ {
		if code := call(t, c, "POST", s.URL+"/v1/orgs", adminKey, orgBody(8, i), nil); code != 201 {
			t.Fatalf("POST /v1/orgs: %d", code)
		}
	}
	s.stop()
	view := dir
	if os.Geteuid() == 0 {
		view = t.TempDir()
		if out, err := exec.Command("mount", "--bind", dir, view).CombinedOutput(); err != nil {
			t.Skipf("no bind mount here: %v %s", err, out)
		}
		defer exec.Command("umount", view).Run()
		if out, err := exec.Command("mount", "-o", "remount,ro,bind", view).CombinedOutput(); err != nil {
			t.Fatalf("remount read-only: %v %s", err, out)
		}
		if err := os.WriteFile(filepath.Join(view, "probe"), nil, 0o600); err == nil {
			t.Fatal("the read-only mount is writable")
		}
	} else {
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil {
				os.Chmod(p, info.Mode()&^0o222)
			}
			return nil
		})
		defer filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil {
				os.Chmod(p, info.Mode()|0o200)
			}
			return nil
		})
	}
	out, code := runCLI(t, "verify", "--data", view)
	if code != 0 || !strings.HasPrefix(out, "ok: 11 records") {
		t.Fatalf("verify on a read-only view: exit %d\n%s", code, out)
	}
}
