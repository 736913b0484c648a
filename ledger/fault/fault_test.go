package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Kind
	}{
		{nil, Internal},
		{errors.New("plain"), Internal},
		{Errorf(NotFound, "no lot %s", "x"), NotFound},
		{fmt.Errorf("wrapped: %w", Wrap(Unavailable, "disk", errors.New("eio"))), Unavailable},
		{InvalidField("lot", "is required"), Invalid},
		{Rejectf("quantity", "too much"), Rejected},
	} {
		if got := KindOf(tc.err); got != tc.want {
			t.Errorf("KindOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestFields(t *testing.T) {
	var fe Fields
	if fe.Err() != nil {
		t.Fatal("no problem, but an error")
	}
	fe.Add("a", "is %s", "bad")
	if got := fe.Err().Error(); got != "invalid: invalid field a; a: is bad" {
		t.Errorf("one field: %q", got)
	}
	fe.Add("b", "too")
	if got := fe.Err().Error(); got != "invalid: 2 invalid fields, first a; a: is bad; b: too" {
		t.Errorf("two fields: %q", got)
	}
	e := BadField("bad seq", "seq", "must be a whole number")
	if e.Kind != Invalid || e.Msg != "bad seq" || len(e.Fields) != 1 || e.Fields[0] != (FieldError{"seq", "must be a whole number"}) {
		t.Errorf("BadField: %+v", e)
	}
	if r := Rejectf("", "no field").(*Error); r.Fields != nil {
		t.Errorf("Rejectf without a field named one: %+v", r)
	}
}
