package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"coldtrace/ledger/fault"
)

// TestLotCache checks that the sequencer's lot cache answers what decoding
// the bytes read would: a hit only for the same bytes, a changed lot
// decoded afresh, a lot under another id refused, its memory bounded, and
// a cached lot modified in place caught on the next hit.
func TestLotCache(t *testing.T) {
	c := lotCache{max: 1 << 20}
	l := &Lot{ID: "11111111-1111-1111-1111-111111111111", TraceCode: "AAAABBBBCCCC", Root: "r",
		Custody: []Stay{{Org: "o", Site: "s", Region: "310101"}}, Quantity: LotQuantity{Declared: 5000, Outcome: Outcome{OnHand: 5000}}}
	data, _ := json.Marshal(l)
	a, err := c.decode(l.ID, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, l) {
		t.Fatalf("cached decode %+v, want %+v", a, l)
	}
	if b, _ := c.decode(l.ID, bytes.Clone(data)); b != a {
		t.Fatal("the same bytes were decoded again")
	}

	changed := a.clone()
	changed.Quantity.OnHand, changed.Quantity.Sold = 4000, 1000
	changedData, _ := json.Marshal(changed)
	b, err := c.decode(l.ID, changedData)
	if err != nil {
		t.Fatal(err)
	}
	if b == a || b.Quantity.OnHand != 4000 || b.Quantity.Sold != 1000 {
		t.Fatalf("a changed lot answered %+v from the cache", b.Quantity)
	}
	// A lot written by the sequencer is cached as written.
	c.add(changedData, changed)
	if got, _ := c.decode(l.ID, changedData); got != changed {
		t.Fatal("the lot the sequencer wrote was not answered from the cache")
	}
	// The bytes of before the change (a failed commit, a void) are decoded
	// again.
	if got, _ := c.decode(l.ID, data); got == changed || got.Quantity.OnHand != 5000 {
		t.Fatalf("the old bytes answered %+v", got.Quantity)
	}

	if _, err := c.decode("22222222-2222-2222-2222-222222222222", data); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("a lot stored under another lot's id: %v, want Tampered", err)
	}

	c.check = true
	shared, _ := c.decode(l.ID, data)
	shared.Custody[0].Site = "elsewhere"
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "modified in place") {
				t.Fatalf("a cached lot modified in place was answered (recovered %v)", r)
			}
		}()
		c.decode(l.ID, data)
	}()

	one := (&cachedLot{raw: data}).size()
	for i := 0; i < 4*c.max/one; i++ {
		m := *l
		m.ID = fmt.Sprintf("%036d", i)
		d, _ := json.Marshal(&m)
		if _, err := c.decode(m.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	if total := c.lots.bytes(); total > c.max+one {
		t.Fatalf("the cache holds %d bytes, more than %d", total, c.max)
	}
}

// TestLotCloneSharesNothing fills every field of a lot, clones it, and
// checks that the clone is equal, encodes alike and shares no pointer,
// slice or map with the original: a field added to Lot that clone does not
// copy fails here.
func TestLotCloneSharesNothing(t *testing.T) {
	var l Lot
	n := 0
	fillValue(t, reflect.ValueOf(&l).Elem(), &n)
	c := l.clone()
	if !reflect.DeepEqual(&l, c) {
		t.Fatalf("clone %+v differs from %+v", c, l)
	}
	a, _ := json.Marshal(&l)
	b, _ := json.Marshal(c)
	if !bytes.Equal(a, b) {
		t.Fatalf("clone encodes as\n%s\nnot\n%s", b, a)
	}
	if p := sharedPaths(reflect.ValueOf(&l).Elem(), reflect.ValueOf(c).Elem(), "Lot"); len(p) > 0 {
		t.Fatalf("clone shares %v with the original", p)
	}

	// Nil and empty lists stay what they were: they encode differently.
	e := Lot{ID: "x", Parents: nil, Children: []string{}}
	a, _ = json.Marshal(&e)
	b, _ = json.Marshal(e.clone())
	if !bytes.Equal(a, b) {
		t.Fatalf("clone of nil and empty lists encodes as\n%s\nnot\n%s", b, a)
	}
}

// fillValue sets every exported field reachable from v to a distinct
// non-zero value, with two elements in every list.
func fillValue(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprint("s", *n))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(t, v.Elem(), n)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fillValue(t, s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillValue(t, k, n)
		fillValue(t, e, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(*n), 0).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillValue(t, v.Field(i), n)
			}
		}
	default:
		t.Fatalf("fillValue does not know %s: teach it, and check that Lot.clone copies it", v.Type())
	}
}

// sharedPaths lists the pointers, slices and maps that a and b share.
func sharedPaths(a, b reflect.Value, path string) []string {
	var out []string
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		out = append(out, sharedPaths(a.Elem(), b.Elem(), path)...)
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		for i := 0; i < a.Len(); i++ {
			out = append(out, sharedPaths(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return nil
		}
		for i := 0; i < a.NumField(); i++ {
			if f := a.Type().Field(i); f.IsExported() {
				out = append(out, sharedPaths(a.Field(i), b.Field(i), path+"."+f.Name)...)
			}
		}
	}
	return out
}
