package ledger

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"coldtrace/ledger/fault"
)

// Contacts by vehicle (issue 14): goods that travelled under the same plate
// as goods of a positive batch, at an overlapping time inside the window,
// are contacts like goods that shared a site. The plate-use index
// (s/x/plate-use/<plate>\x00<from µs be64><lot id>) is written only for
// shipped records that carry the region the goods left (rec.Region, set by
// the ledger since this issue), so an old log, whose shipments carry none,
// derives no entry and replays to the state it stored.

// plateUseKey is the plate-use index entry of a lot put on a vehicle.
func plateUseKey(plate string, from time.Time, lot string) []byte {
	return idxPlateUse.key(plate, append(be64(from.UnixMicro()), lot...))
}

// A plateWindow is a span a family lot spent under a plate.
type plateWindow struct {
	from, to time.Time
	lot      string // its trace code
}

// familyPlates returns the spans family lots spent on vehicles that end
// after start (clipped to [start, end]), by plate.
func (lt *lotTx) familyPlates(ids []string, start, end time.Time) (map[string][]plateWindow, error) {
	out := map[string][]plateWindow{}
	for _, id := range ids {
		m, err := lt.peek(id)
		if err != nil {
			return nil, err
		}
		for _, v := range m.Vehicles {
			to := end
			if v.To != nil && v.To.Before(end) {
				to = *v.To
			}
			if to.Before(start) || v.From.After(end) {
				continue
			}
			from := v.From
			if from.Before(start) {
				from = start
			}
			out[v.Plate] = append(out[v.Plate], plateWindow{from, to, m.TraceCode})
		}
	}
	return out, nil
}

// vehicleContact is a lot found under a family plate, and why.
type vehicleContact struct {
	id, plate, with string
	from            time.Time
}

// plateContacts returns the lots outside the family (and not in skip) that
// were on a vehicle under one of plates while a family lot was, at most
// limit, plates in order. Entries are read from a window's start less
// DefaultSiteWindowDays (a lot loaded earlier and still on board).
func (st *state) plateContacts(plates map[string][]plateWindow, skip map[string]bool, limit int) ([]vehicleContact, error) {
	names := make([]string, 0, len(plates))
	for p := range plates {
		names = append(names, p)
	}
	slices.Sort(names)
	var out []vehicleContact
	for _, plate := range names {
		ws := plates[plate]
		earliest, latest := ws[0].from, ws[0].to
		for _, w := range ws {
			earliest = minTime(earliest, w.from)
			if w.to.After(latest) {
				latest = w.to
			}
		}
		prefix := idxPlateUse.prefix(plate)
		var ids []string
		err := st.tx.Scan(prefix, append(prefix, be64(earliest.Add(-DefaultSiteWindowDays*24*time.Hour).UnixMicro())...), false, func(k, _ []byte) error {
			sfx := k[len(prefix):]
			if int64(beUint(sfx[:8])) > latest.UnixMicro() {
				return fault.ErrStop
			}
			if id := string(sfx[8:]); !skip[id] && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if len(out) >= limit {
				return out, nil
			}
			l, err := st.lot(id)
			if err != nil {
				return nil, err
			}
			for _, v := range l.Vehicles {
				i := slices.IndexFunc(ws, func(w plateWindow) bool {
					return v.Plate == plate && !v.From.After(w.to) && (v.To == nil || !v.To.Before(w.from))
				})
				if i >= 0 {
					skip[id] = true
					out = append(out, vehicleContact{id, plate, ws[i].lot, v.From})
					break
				}
			}
		}
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// openVehicleContacts opens a contact finding, in the region where each
// lot is now, for every lot that still holds goods and travelled under a
// plate of the family inside the window; skip holds the family and the
// lots already found as contacts by site.
func (lt *lotTx) openVehicleContacts(pos *Lot, ids []string, skip map[string]bool, room int, fx *effects) error {
	rec := lt.rec
	start := rec.At.Add(-DefaultSiteWindowDays * 24 * time.Hour)
	plates, err := lt.familyPlates(ids, start, rec.At)
	if err != nil || len(plates) == 0 {
		return err
	}
	found, err := lt.st.plateContacts(plates, skip, room)
	if err != nil {
		return err
	}
	for _, c := range found {
		if err := lt.openContact(c.id, func(l *Lot) string {
			return fmt.Sprintf("lot %s travelled on vehicle %s (loaded %s) while %s of the batch that tested positive (lot %s, record %d) was on it, within %d days before; test it",
				l.TraceCode, c.plate, c.from.UTC().Format(time.RFC3339), c.with, pos.TraceCode, rec.Seq, DefaultSiteWindowDays)
		}, fx); err != nil {
			return err
		}
	}
	return nil
}

// openContact opens a contact finding on lot id, in the region where it is
// now, with the detail why gives, unless nothing is left of it to test.
func (lt *lotTx) openContact(id string, why func(l *Lot) string, fx *effects) error {
	l, err := lt.peek(id)
	if err != nil {
		return err
	}
	if l.terminal() {
		return nil // nothing left to test
	}
	if l, err = lt.get(id); err != nil {
		return err
	}
	return lt.open(RuleContact, l, why(l), fx)
}

// recallVehicleContacts adds to a recall answer the lots p may see that
// travelled under a plate of the family while a family lot was on it, up to
// limit contacts in all.
func (st *state) recallVehicleContacts(p Principal, out *Recall, plates map[string][]plateWindow, inFamily map[string]bool, limit int) error {
	room := limit - len(out.Contacts)
	if room <= 0 || len(plates) == 0 {
		return nil
	}
	skip := maps.Clone(inFamily)
	for _, c := range out.Contacts {
		skip[c.Lot] = true
	}
	found, err := st.plateContacts(plates, skip, room)
	if err != nil {
		return err
	}
	for _, c := range found {
		n, err := st.node(c.id)
		if err != nil {
			return err
		}
		if !p.readsAll() && !n.visibleTo(p) {
			continue
		}
		ct := Contact{Lot: c.id, TraceCode: n.TraceCode, Plate: c.plate, From: c.from.UTC()}
		for _, v := range n.Vehicles {
			if v.Plate == c.plate && v.From.Equal(c.from) && v.To != nil {
				to := v.To.UTC()
				ct.To = &to
			}
		}
		out.Contacts = append(out.Contacts, ct)
	}
	if len(found) == room {
		out.ContactsTruncated = true
	}
	return nil
}
