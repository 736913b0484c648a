package ledger

import (
	"bytes"
	"testing"
	"time"
)

// TestIndexEntries checks the index keys of a lot that sets every indexed
// field against the keys index.key builds one by one.
func TestIndexEntries(t *testing.T) {
	left := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	l := &Lot{ID: "11111111-1111-1111-1111-111111111111", Root: "r1", Roots: []string{"r1", "r2"}, CreatedSeq: 42,
		Containers: []Container{{Number: "ABCU1234567"}, {Number: "ABCU7654321"}}, DeclarationNo: "224820260700001",
		Holder: "org-b", Site: "S2", Orgs: []string{"org-a", "org-b"},
		Custody: []Stay{{Org: "org-a", Site: "S1", Region: "310115", To: &left}, {Org: "org-b", Site: "S2", Region: "330106"}},
		Transit: &Transit{ToRegion: "440305", Deadline: left.Add(48 * time.Hour)}}
	l.Status.Cleared = true
	id := []byte(l.ID)
	want := [][]byte{
		idxRoot.key("r1", id), idxCreated.key("", append(be64(42), id...)), idxRoot.key("r2", id),
		idxContainer.key("ABCU1234567", id), idxContainer.key("ABCU7654321", id), idxDeclaration.key("224820260700001", id),
		idxHolder.key("org-b", id), idxLotSite.key("S2", id),
		idxRegion.key("310115", id), idxRegion.key("330106", id), idxRegion.key("440305", id),
		idxLotOrg.key("org-a", id), idxLotOrg.key("org-b", id),
		idxStatus.key("open", id), idxStatus.key("cleared", id), idxStatus.key("in_transit", id),
		idxDue.key("", append(be64(left.Add(48*time.Hour).UnixMicro()), id...)),
	}
	got := indexEntries(l)
	if len(got) != len(want) {
		t.Fatalf("%d keys, want %d:\n%q\n%q", len(got), len(want), got, want)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("key %d: %q, want %q", i, got[i], want[i])
		}
	}
}
