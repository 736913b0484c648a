package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"coldtrace/ledger"
)

// TestBatchAcrossChunks posts a batch of more lines than the handler
// decodes and queues at a time, with lines that do not decode or are
// refused at the edges of its chunks: every line is answered in its place,
// the recorded ones in order and one after another, and only they are
// recorded.
func TestBatchAcrossChunks(t *testing.T) {
	w := newWorld(t)
	code := w.lotHeldBy(ledger.RoleImporter)
	const n = 2*512 + 3
	bad := map[int]string{
		0:       `{not json`,
		511:     `{"kind":"tested","lot":"` + code + `","samples":1,"scope":["goods"],"result":"negative","colour":"red"}`,
		512:     `{"kind":"tested","lot":"NO-SUCH-LOT","samples":1,"scope":["goods"],"result":"negative"}`,
		1023:    `{"kind":"declared"}`,
		n - 1:   `{"kind":"tested","lot":"` + code + `","samples":0,"scope":["goods"],"result":"negative"}`,
		1024:    `{"kind":"key_created"}`,
		512 + 7: ``, // an empty line is skipped, not answered
	}
	var body strings.Builder
	want := 0
	for i := 0; i < n; i++ {
		if line, ok := bad[i]; ok {
			body.WriteString(line + "\n")
			continue
		}
		fmt.Fprintf(&body, `{"kind":"tested","lot":%q,"samples":%d,"scope":["goods"],"result":"negative"}`+"\n", code, 1+i%40)
		want++
	}
	size := w.h.l.Size()
	r := w.keys[ledger.RoleLab].do("POST", "/v1/events/batch", body.String(), "Content-Type", "application/x-ndjson").want(200)
	out := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if len(out) != n-1 {
		t.Fatalf("%d answer lines for %d events", len(out), n-1)
	}
	var last int64
	recorded := 0
	for i, a := range out {
		line := i
		if i >= 512+7 {
			line++ // after the empty line
		}
		var rc struct {
			Seq    int64
			Status int
		}
		if err := json.Unmarshal([]byte(a), &rc); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if _, isBad := bad[line]; isBad {
			if rc.Status < 400 || rc.Status >= 500 {
				t.Errorf("line %d: %s, want a problem", line, a)
			}
			continue
		}
		if rc.Status != 0 || (last != 0 && rc.Seq != last+1) {
			t.Fatalf("line %d: %s after seq %d, want the next record", line, a, last)
		}
		last = rc.Seq
		recorded++
	}
	if recorded != want || w.h.l.Size() != size+int64(want) {
		t.Fatalf("%d answered as recorded, size %d -> %d, want %d records", recorded, size, w.h.l.Size(), want)
	}
}

// TestBatchTooLargeRecordsNothing: a batch of one line more than the limit
// is refused whole, and none of its lines (all good) is recorded, although
// the handler queues a batch's first lines while it decodes the rest.
func TestBatchTooLargeRecordsNothing(t *testing.T) {
	w := newWorld(t)
	code := w.lotHeldBy(ledger.RoleImporter)
	var body strings.Builder
	for i := 0; i <= 10_000; i++ {
		fmt.Fprintf(&body, `{"kind":"tested","lot":%q,"samples":1,"scope":["goods"],"result":"negative"}`+"\n", code)
	}
	size := w.h.l.Size()
	w.keys[ledger.RoleLab].do("POST", "/v1/events/batch", body.String(), "Content-Type", "application/x-ndjson").wantProblem(413, "too_large", "")
	if w.h.l.Size() != size {
		t.Fatalf("a batch over the limit recorded %d records", w.h.l.Size()-size)
	}
}
