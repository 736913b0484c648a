package ledger

import (
	"reflect"
	"testing"

	"coldtrace/ledger/fault"
)

// TestNodeCache checks that the node cache answers exactly what decoding
// the bytes read would: a hit only for the same bytes, a changed node
// decoded afresh, a node under another lot's id refused, and its memory
// bounded.
func TestNodeCache(t *testing.T) {
	c := nodeCache{max: 1 << 20}
	n := &lotNode{ID: "11111111-1111-1111-1111-111111111111", TraceCode: "AAAA-BBBB-CCCC", Root: "r", CreatedBy: Declared,
		Custody: []Stay{{Org: "o", Site: "s", Region: "310101"}}, Q: LotQuantity{Declared: 5000, Outcome: Outcome{OnHand: 5000}}}
	data := n.encode()
	a, err := c.decode(n.ID, data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := decodeNode(data)
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("cached decode %+v, decode %+v", a, want)
	}
	if b, _ := c.decode(n.ID, append([]byte(nil), data...)); b != a {
		t.Fatal("the same bytes were decoded again")
	}
	n.Q.OnHand, n.Q.Sold = 4000, 1000
	b, err := c.decode(n.ID, n.encode())
	if err != nil {
		t.Fatal(err)
	}
	if b.Q.OnHand != 4000 || b.Q.Sold != 1000 {
		t.Fatalf("a changed node answered %+v from the cache", b.Q)
	}
	if _, err := c.decode("22222222-2222-2222-2222-222222222222", data); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("a node stored under another lot's id: %v, want Tampered", err)
	}
	for i := 0; i < 4*c.max/b.size(); i++ {
		m := *b
		m.ID = string(rune('a'+i%26)) + string(be64(int64(i)))
		if _, err := c.decode(m.ID, m.encode()); err != nil {
			t.Fatal(err)
		}
	}
	if total := c.nodes.bytes(); total > c.max+b.size() {
		t.Fatalf("the cache holds %d bytes, more than %d", total, c.max)
	}
}
