package ledger

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"coldtrace/ledger/fault"
)

// TestLotCodec fills every field of a lot and checks that its binary
// encoding decodes to the same lot, which answers the same JSON; that nil
// and empty lists and zoned times come back as they were; that the JSON a
// ledger stored before issue 17 still decodes, and says the same as its
// binary encoding to verify; and that a cut or padded encoding is refused.
// A field added to Lot that the codec does not carry fails here.
func TestLotCodec(t *testing.T) {
	var full Lot
	n := 0
	fillValue(t, reflect.ValueOf(&full).Elem(), &n)
	cst := time.FixedZone("", 8*3600)
	at := time.Date(2026, 3, 1, 8, 0, 0, 123, cst)
	zoned := Lot{ID: "z", Parents: nil, Children: []string{}, Custody: []Stay{{From: at, To: &at}}, DeclaredAt: at}
	for _, l := range []*Lot{&full, &zoned, {ID: "empty"}} {
		data := encodeLot(l)
		got, err := decodeLot(l.ID, data)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(l)
		if js, _ := json.Marshal(got); !bytes.Equal(js, want) {
			t.Fatalf("binary lot answers\n%s\nnot\n%s", js, want)
		}
		if l == &full && !reflect.DeepEqual(got, l) {
			t.Fatalf("binary lot decodes to %+v, not %+v", got, l)
		}
		if !bytes.Equal(encodeLot(got), data) {
			t.Fatal("a decoded lot encodes differently")
		}
		if len(data) >= len(want) {
			t.Errorf("lot %s: binary %d bytes, JSON %d", l.ID, len(data), len(want))
		}

		// The JSON of an older ledger decodes to the same lot.
		old, err := decodeLot(l.ID, want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(encodeLot(old), data) || !sameStateValue(tabLot.key(l.ID), want, data, nil, nil) {
			t.Fatalf("lot %s: its JSON and its binary encoding differ", l.ID)
		}
		// A record that tests the lot: its before-image is the bytes it
		// changed, and says what the old whole JSON before-image says.
		after := l.clone()
		after.LastSeq, after.TestedSinceArrival = 99, true
		after.LastTest = &Mark{Seq: 99, At: at, Result: "negative"}
		afterData, afterJSON := encodeLot(after), mustJSON(t, after)
		prevData := encodeLotPrev(7, data, afterData)
		p, err := decodeLotPrev(prevData)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := p.before(afterData); err != nil || !bytes.Equal(b, data) || p.Seq != 7 {
			t.Fatalf("lot %s: the before-image gives %v, %v", l.ID, b, err)
		}
		if len(prevData) > len(data)/2 {
			t.Errorf("lot %s: a test's before-image takes %d bytes, the lot %d", l.ID, len(prevData), len(data))
		}
		oldPrev := mustJSON(t, jsonLotPrev{Seq: 7, Before: want})
		lots := func(data []byte) func(string) []byte { return func(string) []byte { return data } }
		if !sameStateValue(tabLotPrev.key(l.ID), oldPrev, prevData, lots(afterJSON), lots(afterData)) {
			t.Fatalf("lot %s: its JSON before-image and the binary one differ", l.ID)
		}
		if sameStateValue(tabLotPrev.key(l.ID), oldPrev, encodeLotPrev(8, data, afterData), lots(afterJSON), lots(afterData)) {
			t.Fatal("before-images of two records compare equal")
		}
		if sameStateValue(tabLotPrev.key(l.ID), oldPrev, encodeLotPrev(7, afterData, afterData), lots(afterJSON), lots(afterData)) {
			t.Fatal("before-images of two states compare equal")
		}
		if _, err := p.before(afterData[:p.keep+p.tail-1]); fault.KindOf(err) != fault.Tampered {
			t.Fatalf("a before-image against a shorter lot: %v, want Tampered", err)
		}

		for _, bad := range [][]byte{data[:len(data)-1], append(bytes.Clone(data), 0)} {
			if _, err := decodeLot(l.ID, bad); fault.KindOf(err) != fault.Tampered {
				t.Fatalf("a binary lot of %d bytes (of %d): %v, want Tampered", len(bad), len(data), err)
			}
		}
	}
	if _, err := decodeLot("other", encodeLot(&full)); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("a lot stored under another lot's id: %v, want Tampered", err)
	}
	changed := full.clone()
	changed.Quantity.OnHand++
	if sameStateValue(tabLot.key(full.ID), encodeLot(&full), encodeLot(changed), nil, nil) {
		t.Fatal("two different lots compare equal")
	}

	// Before-images: a created lot has none, in both encodings.
	for _, data := range [][]byte{encodeLotPrev(5, nil, encodeLot(&full)), []byte(`{"seq":5,"before":null}`)} {
		p, err := decodeLotPrev(data)
		if err != nil || p.Seq != 5 || !p.none {
			t.Fatalf("before-image %q: %+v, %v", data, p, err)
		}
		if b, err := p.before(encodeLot(&full)); b != nil || err != nil {
			t.Fatalf("before-image %q gives %q, %v", data, b, err)
		}
	}
	// A void of a lot's creation deletes it: its before-image is whole.
	p, err := decodeLotPrev(encodeLotPrev(9, encodeLot(&full), nil))
	if err != nil || p.Seq != 9 {
		t.Fatalf("binary before-image: %+v, %v", p, err)
	}
	if b, err := p.before(nil); err != nil || !bytes.Equal(b, encodeLot(&full)) {
		t.Fatalf("the before-image of a deleted lot gives %v, %v", b, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestNodeRef checks the s/node/ entry: a reference to the node's copy
// under its first root, which verify takes as the same as the whole node
// an older ledger stored there, and not as another node's.
func TestNodeRef(t *testing.T) {
	n := &lotNode{ID: "lot-1", Root: "root-1", Roots: []string{"root-2", "root-3"}, CreatedSeq: 42, TraceCode: "AAAABBBBCCCC"}
	ref := n.ref()
	root, created, err := decodeNodeRef(ref)
	if err != nil || root != "root-2" || created != 42 {
		t.Fatalf("reference of %+v: %s %d %v", n, root, created, err)
	}
	if !sameNodeEntry(n.encode(), ref) || !sameNodeEntry(ref, n.encode()) {
		t.Fatal("a whole node and its reference differ")
	}
	other := *n
	other.CreatedSeq = 43
	if sameNodeEntry(n.encode(), other.ref()) || sameNodeEntry(ref, other.ref()) {
		t.Fatal("a node and another node's reference compare equal")
	}
	if _, _, err := decodeNodeRef(append(bytes.Clone(ref), 0)); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("a padded reference: %v, want Tampered", err)
	}
}
