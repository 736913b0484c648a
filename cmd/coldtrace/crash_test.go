package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// ack is one submission the server answered 201.
type ack struct {
	seq  int64
	uscc string
}

// TestCrashLosesNothingAcknowledged kills the server with SIGKILL in the
// middle of a load of concurrent writers, several times at different points,
// and checks after each restart that every acknowledged record is there with
// the bytes read before the crash, and finally that verify passes.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dir := t.TempDir()
	var acks []ack
	seen := map[int64][]byte{} // record bytes read while the server ran
	killAfter := []time.Duration{150 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond, 40 * time.Millisecond}
	for round, after := range killAfter {
		s := startServer(t, dir)
		got, read := load(t, s, round, after)
		acks = append(acks, got...)
		for k, v := range read {
			seen[k] = v
		}
		t.Logf("round %d: %d acknowledged before kill -9 at %v", round, len(got), after)

		s2 := startServer(t, dir)
		size := treeSize(t, s2.URL)
		recs := records(t, s2.URL, 0, size)
		for _, a := range acks {
			if a.seq >= size {
				t.Fatalf("acknowledged record %d is gone: tree size after restart %d", a.seq, size)
			}
			var r struct {
				Kind string `json:"kind"`
				USCC string `json:"uscc"`
			}
			if err := json.Unmarshal(recs[a.seq], &r); err != nil || r.Kind != "org_registered" || r.USCC != a.uscc {
				t.Fatalf("record %d after restart is %s, want the org %s acknowledged before", a.seq, recs[a.seq], a.uscc)
			}
		}
		for seq, b := range seen {
			if !bytes.Equal(recs[seq], b) {
				t.Fatalf("record %d changed across the crash:\nbefore %s\nafter  %s", seq, b, recs[seq])
			}
		}
		s2.stop()
	}
	if len(acks) == 0 {
		t.Fatal("no write was acknowledged: the test proved nothing")
	}
	out, code := runCLI(t, "verify", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("verify after crashes: exit %d\n%s", code, out)
	}
	t.Log(strings.TrimSpace(out))
}

// load runs 32 writers against s and kills s after the given time. It
// returns the acknowledged submissions and some record bytes read back while
// the server ran.
func load(t *testing.T, s *server, round int, after time.Duration) ([]ack, map[int64][]byte) {
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
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				n := int(next.Add(1))
				body := orgBody(round+1, n)
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", s.URL+"/v1/orgs", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+adminKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := httpc.Do(req)
				if err != nil {
					return // the server is gone
				}
				var org struct {
					Seq int64 `json:"seq"`
				}
				code := resp.StatusCode
				json.NewDecoder(resp.Body).Decode(&org)
				resp.Body.Close()
				if code == http.StatusCreated {
					mu.Lock()
					acks = append(acks, ack{org.Seq, body["uscc"].(string)})
					mu.Unlock()
				} else if code != http.StatusServiceUnavailable {
					t.Errorf("POST /v1/orgs: %d", code)
					return
				}
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
			if len(acks) > 0 {
				last = acks[len(acks)-1].seq
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
	err = store.Update(func(tx ledger.Tx) error {
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
