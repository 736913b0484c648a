package ledger

import (
	"fmt"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// Lots named by their LGTIN. A declared batch with a GTIN and a batch
// number records its LGTIN (Event.LGTIN, the canonical Digital Link
// https://id.gs1.org/01/{GTIN-14}/10/{batch}, set by prepare on new records
// only) and is indexed by it (idxLGTIN), so records written before carry
// none and replay unchanged. An LGTIN is a class: once a batch is split
// (shipments of part of it) many lots share it. A captured event naming an
// LGTIN (urn:epc:class:lgtin:... or its Digital Link, in epcList or
// quantityList) names the one lot of that class that is at the site its
// bizLocation (else readPoint) names, holding goods there or in transit
// to it; when the batch was never split, the declared lot itself. Lots
// made by processing are other products and do not share it. Anything
// else (lots at several sites and no site named, two at the site) is
// ambiguous and refused, naming the field: name the lot by its URL then.

// lgtinOf returns the canonical LGTIN of a declared batch, "" without one.
func lgtinOf(gtin, batch string) string {
	if gtin == "" {
		return ""
	}
	id, err := epcis.LGTIN(gtin, batch, 0)
	if err != nil {
		return ""
	}
	return id.DigitalLink()
}

// indexLGTIN indexes a declared lot by the LGTIN its record carries.
func indexLGTIN(st *state, rec *Record, lot string) error {
	if rec.LGTIN == "" {
		return nil
	}
	return st.tx.Set(idxLGTIN.key(rec.LGTIN, []byte(lot)), nil)
}

// lotsByLGTIN returns the lots of the batches declared with the LGTIN of
// gtin and batch: the declared lots and the lots split off them.
func (st *state) lotsByLGTIN(gtin, batch string) ([]*Lot, error) {
	var out []*Lot
	err := st.scanIndex(idxLGTIN, lgtinOf(gtin, batch), func(root []byte) error {
		return st.scanIndex(idxRoot, string(root), func(id []byte) error {
			l, err := st.lot(string(id))
			if err != nil || l.Root != string(root) {
				return err // a processed product of the batch is another product
			}
			out = append(out, l)
			return nil
		})
	})
	return out, err
}

// lotByLGTIN returns the coldtrace lot that epc, when it is an LGTIN,
// names in event e (found in field), or nil.
func lotByLGTIN(e epcis.Event, epc, field string, find epcisLookup) (*Lot, error) {
	id, err := epcis.ParseIdentifier(epc)
	if err != nil || id.AI != "01" || id.Lot == "" {
		return nil, nil
	}
	lots, err := find.lgtin(id.Key, id.Lot)
	if err != nil || len(lots) == 0 {
		return nil, err
	}
	if len(lots) == 1 {
		return lots[0], nil
	}
	loc := e.BizLocation()
	if loc == "" {
		loc = e.ReadPoint()
	}
	site, err := epcisSite(loc, find)
	if err != nil {
		return nil, err
	}
	if site == nil {
		return nil, fault.InvalidField(field, "the LGTIN %s is shared by %d coldtrace lots; name the site in bizLocation, or the lot by its URL", id.DigitalLink(), len(lots))
	}
	var at []*Lot
	for _, l := range lots {
		if (l.Site == site.ID && l.Quantity.OnHand > 0) || (l.Transit != nil && l.Transit.ToSite == site.ID) {
			at = append(at, l)
		}
	}
	if len(at) != 1 {
		return nil, fault.InvalidField(field, "%s", fmt.Sprintf("the LGTIN %s names %d coldtrace lots at site %s; name the lot by its URL", id.DigitalLink(), len(at), site.ID))
	}
	return at[0], nil
}
