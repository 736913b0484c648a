package ledger

import (
	"encoding/json"
	"time"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// An EPCIS error declaration is the erroneous event sent again, with the
// same eventID (or, sent without one, the same CBV 2.0 event hash, which
// leaves errorDeclaration out), and an errorDeclaration member. It is
// captured beside the event it corrects (a second capture of an eventID is
// refused unless it declares an error, and an error is declared once per
// eventID: tabEPCISDeclared). When the event it names was captured here
// and took effect, the declaration takes effect as a void of that effect:
// the voided kind, under the void's own rules (the recorder's latest
// record, or a regulator of the region where the goods are; docs/
// authority.md). A declaration about an event that took no effect, or was
// never captured here, is kept with no effect. correctiveEventIDs name the
// events that correct the error (captured as events of their own), not the
// one in error, so they play no part.

// epcisCorrection maps an event with errorDeclaration to the void of the
// effect of the event it names, if any.
func epcisCorrection(c epcisSubject, x *ctExt, find epcisLookup) (Event, bool, error) {
	fx, err := find.effect(c.id, c.seq)
	if err != nil || fx == 0 {
		return Event{}, false, err
	}
	raw, _ := c.Get("errorDeclaration")
	var decl map[string]json.RawMessage
	if err := json.Unmarshal(raw, &decl); err != nil {
		return Event{}, false, fault.InvalidField("errorDeclaration", "must be an object")
	}
	ev := Event{Kind: Voided, Voids: fx}
	var at string
	if json.Unmarshal(decl["declarationTime"], &at) == nil {
		ev.At, _ = time.Parse(time.RFC3339Nano, at)
	}
	o := x.objOf("errorDeclaration", raw, true, true)
	ev.Reason = o.str("reason", false)
	checkText(&x.fe, "errorDeclaration."+x.term("reason"), ev.Reason, false, 500)
	if ev.Reason == "" {
		var reason string
		_ = json.Unmarshal(decl["reason"], &reason)
		if reason = epcis.ErrorReason.Short(reason); reason == "" {
			reason = "no reason given"
		}
		ev.Reason = "EPCIS error declaration: " + reason
	}
	return ev, true, x.fe.Err()
}

// epcisEffectOf returns the seq of the domain record that the event
// captured as eventID took effect as: the record right after its
// epcis_captured record, citing it. It is 0 when the eventID was not
// captured before seq or its capture took no effect.
func (st *state) epcisEffectOf(eventID string, seq int64) (int64, error) {
	v, err := st.get(epcisIDKey(eventID))
	if fault.KindOf(err) == fault.NotFound {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	captured := int64(beUint(v))
	if captured+1 >= seq {
		return 0, nil
	}
	data, err := vlog.ReadRecord(st.tx, captured+1)
	if err != nil {
		return 0, err
	}
	rec, err := DecodeRecord(data)
	if err != nil || rec.EPCISSeq != captured {
		return 0, err
	}
	return rec.Seq, nil
}
