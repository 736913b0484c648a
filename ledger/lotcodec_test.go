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
		if !bytes.Equal(encodeLot(old), data) || !sameStateValue(tabLot.key(l.ID), want, data) {
			t.Fatalf("lot %s: its JSON and its binary encoding differ", l.ID)
		}
		oldPrev, _ := json.Marshal(jsonLotPrev{Seq: 7, Before: want})
		if !sameStateValue(tabLotPrev.key(l.ID), oldPrev, encodeLotPrev(7, data)) {
			t.Fatalf("lot %s: its JSON before-image and the binary one differ", l.ID)
		}
		if sameStateValue(tabLotPrev.key(l.ID), oldPrev, encodeLotPrev(8, data)) {
			t.Fatal("before-images of two records compare equal")
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
	if sameStateValue(tabLot.key(full.ID), encodeLot(&full), encodeLot(changed)) {
		t.Fatal("two different lots compare equal")
	}

	// Before-images: a created lot has none, in both encodings.
	for _, data := range [][]byte{encodeLotPrev(5, nil), []byte(`{"seq":5,"before":null}`)} {
		p, err := decodeLotPrev(data)
		if err != nil || p.Seq != 5 || p.Before != nil {
			t.Fatalf("before-image %q: %+v, %v", data, p, err)
		}
	}
	p, err := decodeLotPrev(encodeLotPrev(9, encodeLot(&full)))
	if err != nil || p.Seq != 9 || !bytes.Equal(p.Before, encodeLot(&full)) {
		t.Fatalf("binary before-image: %+v, %v", p, err)
	}
}
