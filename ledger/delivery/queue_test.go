package delivery_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/ledger/delivery"
	"coldtrace/ledger/kv"
	"coldtrace/storage/badgerkv"
)

// hook is a destination as a caller keeps it.
type hook struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Disabled string `json:"disabled,omitempty"`
}

func (h *hook) Stopped() *string { return &h.Disabled }

// message is a delivery as a caller keeps it: its own fields around the
// State.
type message struct {
	Dest string `json:"dest"`
	delivery.State
	Body string `json:"body,omitempty"`
}

func (m *message) DeliveryState() *delivery.State { return &m.State }

// The two layouts the ledger uses: by destination, and by ref first.
var (
	byDest = delivery.Layout{Dests: []byte("a/wh/"), Cursors: []byte("a/whc/"), Deliveries: []byte("a/whd/"), Pending: []byte("a/whp/")}
	byRef  = delivery.Layout{Dests: []byte("a/eps/"), Cursors: []byte("a/epsc/"), Deliveries: []byte("a/epsd/"), Pending: []byte("a/epsp/"), RefLen: 8}
)

func openStore(t *testing.T) kv.Store {
	t.Helper()
	s, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func update(t *testing.T, s kv.Store, fn func(tx kv.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// dump returns every key and value in the store, as "key=value" lines.
func dump(t *testing.T, s kv.Store) []string {
	t.Helper()
	var out []string
	if err := s.View(t.Context(), func(tx kv.Tx) error {
		return tx.Scan(nil, nil, false, func(k, v []byte) error { out = append(out, fmt.Sprintf("%q=%s", k, v)); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// due returns the deliveries due at now (refs as strings), at most limit.
func due(t *testing.T, s kv.Store, l delivery.Layout, now time.Time, limit int, open func(string) bool) []string {
	t.Helper()
	var out []string
	if err := s.View(t.Context(), func(tx kv.Tx) error {
		return delivery.Due(l, tx, now, limit, func(id string) (bool, error) { return open == nil || open(id), nil }, func(id string, ref []byte, m *message) (bool, error) {
			if m.Dest != id {
				return false, fmt.Errorf("delivery of %s under %s", m.Dest, id)
			}
			out = append(out, id+":"+string(ref))
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// TestKeysKeepTheirBytes pins the keys and values both layouts write:
// they are the ones data directories already hold.
func TestKeysKeepTheirBytes(t *testing.T) {
	s := openStore(t)
	ref := []byte{0, 0, 0, 0, 0, 0, 0, 7}
	update(t, s, func(tx kv.Tx) error {
		for _, l := range []delivery.Layout{byDest, byRef} {
			if err := l.Create(tx, "h1", &hook{ID: "h1", URL: "http://x"}, []byte("cur")); err != nil {
				return err
			}
			if err := l.Enqueue(tx, "h1", ref, &message{Dest: "h1", State: delivery.Pending(t0), Body: "b"}); err != nil {
				return err
			}
		}
		return nil
	})
	const d = `{"dest":"h1","status":"pending","attempts":0,"next_at":"2026-03-01T08:00:00Z","created_at":"2026-03-01T08:00:00Z","body":"b"}`
	want := []string{
		`"a/eps/h1"={"id":"h1","url":"http://x"}`,
		`"a/epsc/h1"=cur`,
		`"a/epsd/h1/\x00\x00\x00\x00\x00\x00\x00\a"=` + d,
		`"a/epsp/\x00\x00\x00\x00\x00\x00\x00\ah1"=`,
		`"a/wh/h1"={"id":"h1","url":"http://x"}`,
		`"a/whc/h1"=cur`,
		`"a/whd/h1/\x00\x00\x00\x00\x00\x00\x00\a"=` + d,
		`"a/whp/h1/\x00\x00\x00\x00\x00\x00\x00\a"=`,
	}
	if got := dump(t, s); !slices.Equal(got, want) {
		t.Fatalf("store:\n%s\nwant\n%s", bytes.Join(toBytes(got), []byte("\n")), bytes.Join(toBytes(want), []byte("\n")))
	}
}

func toBytes(s []string) [][]byte {
	var out [][]byte
	for _, x := range s {
		out = append(out, []byte(x))
	}
	return out
}

// TestAttempts follows deliveries through failures, retries, success,
// giving up, dropping and a 410 that disables their destination.
func TestAttempts(t *testing.T) {
	for _, l := range []delivery.Layout{byDest, byRef} {
		s := openStore(t)
		refs := []string{"r0000001", "r0000002", "r0000003", "r0000004", "r0000005"}
		update(t, s, func(tx kv.Tx) error {
			if err := l.Create(tx, "h", &hook{ID: "h"}, nil); err != nil {
				return err
			}
			for _, r := range refs {
				if err := l.Enqueue(tx, "h", []byte(r), &message{Dest: "h", State: delivery.Pending(t0)}); err != nil {
					return err
				}
			}
			return nil
		})
		if got := due(t, s, l, t0, 100, nil); len(got) != 5 {
			t.Fatalf("due %v", got)
		}
		if got := due(t, s, l, t0, 2, nil); !slices.Equal(got, []string{"h:r0000001", "h:r0000002"}) {
			t.Fatalf("due, limit 2: %v", got)
		}
		// Let the caller decide the destination is closed: nothing is due.
		if got := due(t, s, l, t0, 100, func(string) bool { return false }); len(got) != 0 {
			t.Fatalf("due to a closed destination: %v", got)
		}
		settle := func(ref string, a delivery.Attempt, drop bool) *message {
			t.Helper()
			var m message
			update(t, s, func(tx kv.Tx) error {
				data, err := tx.Get(append(append(bytes.Clone(l.Deliveries), "h/"...), ref...))
				if err != nil {
					return err
				}
				if err := json.Unmarshal(data, &m); err != nil {
					return err
				}
				if drop {
					return l.Drop(tx, "h", []byte(ref), &m, a, &hook{})
				}
				return l.Done(tx, "h", []byte(ref), &m, a, &hook{})
			})
			return &m
		}
		next := t0.Add(5 * time.Second)
		m := settle("r0000001", delivery.Attempt{At: t0, Status: 503, Error: "down", Next: &next}, false)
		if m.Status != "pending" || m.Attempts != 1 || m.LastStatus != 503 || m.LastError != "down" || !m.NextAt.Equal(next) {
			t.Fatalf("after a failure: %+v", m)
		}
		if got := due(t, s, l, t0.Add(time.Second), 100, nil); slices.Contains(got, "h:r0000001") || len(got) != 4 {
			t.Fatalf("a failed delivery is due before its retry: %v", got)
		}
		if got := due(t, s, l, next, 100, nil); !slices.Contains(got, "h:r0000001") {
			t.Fatalf("a failed delivery is not due at its retry: %v", got)
		}
		m = settle("r0000001", delivery.Attempt{At: next, Status: 204}, false)
		if m.Status != "delivered" || m.Attempts != 2 || !m.Delivered.Equal(next) || m.NextAt != nil {
			t.Fatalf("after success: %+v", m)
		}
		m = settle("r0000002", delivery.Attempt{At: t0, Error: "timeout"}, false)
		if m.Status != "failed" || m.Attempts != 1 {
			t.Fatalf("given up: %+v", m)
		}
		m = settle("r0000003", delivery.Attempt{At: t0, Error: "nothing to send"}, true)
		if m.Status != "dropped" || m.Attempts != 0 || m.LastError != "nothing to send" {
			t.Fatalf("dropped: %+v", m)
		}
		if got := due(t, s, l, next, 100, nil); !slices.Equal(got, []string{"h:r0000004", "h:r0000005"}) {
			t.Fatalf("due after settling three: %v", got)
		}
		m = settle("r0000004", delivery.Attempt{At: t0, Status: 410, Error: "gone"}, false)
		if m.Status != "disabled" || m.Attempts != 1 {
			t.Fatalf("after 410: %+v", m)
		}
		var h hook
		if err := s.View(t.Context(), func(tx kv.Tx) error { return l.Dest(tx, "h", &h) }); err != nil {
			t.Fatal(err)
		}
		if h.Disabled != "the receiver answered 410 Gone at 2026-03-01T08:00:00Z" {
			t.Fatalf("destination after 410: %+v", h)
		}
		var listed []string
		if err := s.View(t.Context(), func(tx kv.Tx) error {
			return l.List(tx, "h", 3, func(v []byte) error {
				var m message
				err := json.Unmarshal(v, &m)
				listed = append(listed, m.Status)
				return err
			})
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(listed, []string{"pending", "disabled", "dropped"}) {
			t.Fatalf("listed, newest first, 3: %v", listed)
		}
		// Deleted, the destination leaves nothing, and an attempt reported
		// afterwards writes nothing.
		update(t, s, func(tx kv.Tx) error { return l.Delete(tx, "h") })
		if got := dump(t, s); len(got) != 0 {
			t.Fatalf("left after Delete: %v", got)
		}
		update(t, s, func(tx kv.Tx) error {
			return l.Done(tx, "h", []byte("r0000005"), &message{Dest: "h"}, delivery.Attempt{At: t0, Status: 200}, &hook{})
		})
		if got := dump(t, s); len(got) != 0 {
			t.Fatalf("an attempt on a deleted destination wrote %v", got)
		}
	}
}

// TestDueByRef: with RefLen, the deliveries of one ref to every
// destination come together, in ref order.
func TestDueByRef(t *testing.T) {
	s := openStore(t)
	update(t, s, func(tx kv.Tx) error {
		for _, id := range []string{"b", "a", "c"} {
			if err := byRef.Create(tx, id, &hook{ID: id}, nil); err != nil {
				return err
			}
			for _, r := range []string{"r0000002", "r0000001"} {
				if err := byRef.Enqueue(tx, id, []byte(r), &message{Dest: id, State: delivery.Pending(t0)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	want := []string{"a:r0000001", "b:r0000001", "c:r0000001", "a:r0000002", "b:r0000002", "c:r0000002"}
	if got := due(t, s, byRef, t0, 100, nil); !slices.Equal(got, want) {
		t.Fatalf("due by ref: %v, want %v", got, want)
	}
	want = []string{"a:r0000001", "c:r0000001", "a:r0000002"}
	if got := due(t, s, byRef, t0, 3, func(id string) bool { return id != "b" }); !slices.Equal(got, want) {
		t.Fatalf("due with b closed, limit 3: %v, want %v", got, want)
	}
}

// TestRetry follows a backoff schedule to its end.
func TestRetry(t *testing.T) {
	backoff := []time.Duration{time.Second, time.Minute}
	for i, want := range []*time.Time{ptr(t0.Add(time.Second)), ptr(t0.Add(time.Minute)), nil} {
		got := delivery.Retry(backoff, i, t0)
		if (got == nil) != (want == nil) || got != nil && !got.Equal(*want) {
			t.Errorf("Retry after attempt %d: %v, want %v", i, got, want)
		}
	}
	if len(delivery.DefaultBackoff) != 7 {
		t.Errorf("the default schedule has %d retries, Standard Webhooks' 7", len(delivery.DefaultBackoff))
	}
}

func ptr(t time.Time) *time.Time { return &t }

func TestValidURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://example.com/hook": true, "http://127.0.0.1:8080": true, "ftp://example.com/x": false,
		"https://": false, "/relative": false, "https://example.com/" + strings.Repeat("x", 2000): false,
	} {
		if got := delivery.ValidURL(s); got != want {
			t.Errorf("ValidURL(%.40q) = %v", s, got)
		}
	}
}
