package ledger

import (
	"context"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// A PublicLot is what anyone who holds a trace code may see of its lot: what
// a shopper needs to judge the goods on a stall (product, origin, importer,
// dates, test and disinfection, cleared or sealed) and nothing else. It
// names no holder after the first station, no site, no price, no quantity,
// no vehicle, no person and no other counterparty. This type is the one
// place that rule is kept: the consumer page, its JSON and its QR code are
// all built from it, and a test pins its fields.
type PublicLot struct {
	TraceCode  string        `json:"trace_code"`
	Product    PublicProduct `json:"product"`
	Importer   PublicOrg     `json:"importer"`
	DeclaredAt time.Time     `json:"declared_at"`
	// Test is the lot's latest nucleic-acid test, if any.
	Test *PublicTest `json:"test,omitempty"`
	// Disinfection is the lot's latest disinfection, if any.
	Disinfection *PublicMark `json:"disinfection,omitempty"`
	Cleared      bool        `json:"cleared"` // the four papers of "四不" are all there
	Sealed       bool        `json:"sealed"`  // 就地封存: not to be sold or eaten
	// Status sums the two flags up for a badge: "sealed" (whatever else
	// holds), "cleared", or "pending" (not yet cleared for sale).
	Status string `json:"status"`
	// Parts lists the parts of cleared and whether each is met (policy
	// version 1), as the lot's answer does, without records or parties.
	Parts []PublicPart `json:"parts,omitempty"`
}

// A PublicPart is one part of cleared, in words.
type PublicPart struct {
	Part   string `json:"part"`
	Met    bool   `json:"met"`
	Text   string `json:"text"`
	TextEn string `json:"text_en"`
}

// A PublicProduct is what the label of the goods says.
type PublicProduct struct {
	Name           string `json:"name"`
	Category       string `json:"category"`
	Spec           string `json:"spec,omitempty"`
	OriginCountry  string `json:"origin_country"`
	ProductionDate string `json:"production_date,omitempty"` // YYYY-MM-DD
	ShelfLifeDays  int64  `json:"shelf_life_days,omitempty"`
	// BestBefore is the production date plus the shelf life (YYYY-MM-DD),
	// when both are known.
	BestBefore string `json:"best_before,omitempty"`
}

// A PublicOrg is a legal entity named to the public: the importer, the first
// station, and no one after it.
type PublicOrg struct {
	Name string `json:"name"`
}

// A PublicTest is a test's date and result (negative or positive).
type PublicTest struct {
	At     time.Time `json:"at"`
	Result string    `json:"result"`
}

// A PublicMark is the date something was done.
type PublicMark struct {
	At time.Time `json:"at"`
}

// Public statuses of a lot.
const (
	PublicSealed  = "sealed"
	PublicCleared = "cleared"
	PublicPending = "pending"
)

// PublicLot returns the public view of the lot a trace code names. It needs
// no key: the code printed on the goods is the permission. Lot ids are not
// accepted, so that only a code someone was given opens a lot. Returns
// NotFound for a code no lot has (or that is not a valid trace code).
func (l *Ledger) PublicLot(ctx context.Context, code string) (pl *PublicLot, err error) {
	c, ok := ident.NormalizeTraceCode(code)
	if !ok {
		return nil, fault.Errorf(fault.NotFound, "%q is not a valid trace code", code)
	}
	err = l.view(ctx, func(st *state) error {
		lot, err := st.resolveLot(c)
		if err != nil {
			return err
		}
		importer := lot.Importer
		name := ""
		if o, err := st.org(importer); err == nil {
			name = o.Name
		} else if fault.KindOf(err) != fault.NotFound {
			return err
		}
		pl = publicView(lot, name)
		pol, err := st.policy()
		if err != nil {
			return err
		}
		if pol.Version >= 1 {
			for _, ps := range describeParts(pol, lot) {
				pl.Parts = append(pl.Parts, PublicPart{Part: ps.Part, Met: ps.Met, Text: ps.Text, TextEn: ps.TextEn})
			}
		}
		return nil
	})
	return pl, err
}

// publicView builds the public view of lot; importerName is the registered
// name of its importer.
func publicView(lot *Lot, importerName string) *PublicLot {
	p := lot.Product
	pl := &PublicLot{
		TraceCode: lot.TraceCode,
		Product: PublicProduct{
			Name: p.Name, Category: p.Category, Spec: p.Spec, OriginCountry: p.OriginCountry,
			ProductionDate: p.ProductionDate, ShelfLifeDays: p.ShelfLifeDays,
		},
		Importer:   PublicOrg{Name: importerName},
		DeclaredAt: lot.DeclaredAt,
		Cleared:    lot.Status.Cleared,
		Sealed:     lot.Status.Sealed,
	}
	if d, err := time.Parse(time.DateOnly, p.ProductionDate); err == nil && p.ShelfLifeDays > 0 {
		pl.Product.BestBefore = d.AddDate(0, 0, int(p.ShelfLifeDays)).Format(time.DateOnly)
	}
	if t := lot.LastTest; t != nil {
		pl.Test = &PublicTest{At: t.At, Result: t.Result}
	}
	if d := lot.LastDisinfection; d != nil {
		pl.Disinfection = &PublicMark{At: d.At}
	}
	switch {
	case pl.Sealed:
		pl.Status = PublicSealed
	case pl.Cleared:
		pl.Status = PublicCleared
	default:
		pl.Status = PublicPending
	}
	return pl
}
