package ledger

import (
	"slices"
	"strconv"

	"github.com/google/uuid"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
	"coldtrace/ledger/input"
)

// The goods family: declared (a batch enters the country) and transformed
// (processing turns input lots into new products); check, prepare and
// apply of each.

func checkDeclared(ev *Event, fe *fault.Fields) {
	checkSiteRef(fe, "site", ev.Site)
	checkProduct(fe, "product", ev.Product, true)
	if !ident.ValidDeclarationNo(ev.DeclarationNo) {
		fe.Add("declaration_no", "is not a customs declaration number (18 digits)")
	}
	containers := ev.Containers
	if !input.List(fe, "containers", containers, maxContainers, "number", func(c Container) string { return c.Number }) {
		containers = nil // refused whole: its entries are not worth checking
	}
	for i, c := range containers {
		f := indexField("containers", i)
		if !ident.ValidContainer(c.Number) {
			if len(c.Number) == 11 {
				if d, ok := ident.ISO6346CheckDigit(c.Number[:10]); ok {
					fe.Add(f+".number", "check digit is %c, want %c (ISO 6346)", c.Number[10], d)
					continue
				}
			}
			fe.Add(f+".number", "is not an ISO 6346 container number (4 letters ending in U, J or Z, 6 digits and a check digit)")
		}
		checkText(fe, f+".seal", c.Seal, false, 40)
	}
	checkQuantity(fe, "quantity", ev.Quantity, true)
	checkLGTIN(ev, fe)
}

// checkLGTIN checks a declared batch's GS1 identity: a GTIN with its check
// digit and a batch/lot number of up to 20 GS1 characters, both or neither.
func checkLGTIN(ev *Event, fe *fault.Fields) {
	switch {
	case ev.GTIN == "" && ev.Batch == "":
	case ev.GTIN == "":
		fe.Add("gtin", "is required with batch")
	case ev.Batch == "":
		fe.Add("batch", "is required with gtin")
	default:
		if err := epcis.ValidGTIN(ev.GTIN); err != nil {
			fe.Add("gtin", "%v", err)
		} else if _, err := epcis.LGTIN(ev.GTIN, ev.Batch, 0); err != nil {
			fe.Add("batch", "%v", err)
		}
	}
}

func prepareDeclared(st *state, p Principal, rec *Record, _ *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	if err := declarable(st, p, rec, site); err != nil {
		return err
	}
	prod := withDefaultTemp(*rec.Product)
	rec.Product = &prod
	c, err := newLotRef(st, *rec.Quantity)
	if err != nil {
		return err
	}
	rec.CreatedLots = []CreatedLot{c}
	rec.LGTIN = lgtinOf(rec.GTIN, rec.Batch)
	return nil
}

func applyDeclared(lt *lotTx, _ *Lot, fx *effects) error {
	rec := lt.rec
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	c := rec.CreatedLots[0]
	l := &Lot{
		ID: c.ID, TraceCode: c.TraceCode, Root: c.ID, Parents: []string{}, Children: []string{},
		Product: *rec.Product, Pieces: rec.Quantity.Pieces, DeclarationNo: rec.DeclarationNo, Containers: rec.Containers,
		Importer: rec.Actor.Org, DeclaredAt: rec.At, CreatedAt: rec.At, CreatedSeq: rec.Seq,
		Quantity:  LotQuantity{Declared: c.Quantity.Grams, Outcome: Outcome{OnHand: c.Quantity.Grams}},
		Documents: []string{}, Findings: []string{},
	}
	lt.newStay(l, rec.Actor.Org, site)
	l.addDocuments(rec.Attachments)
	for _, a := range rec.Attachments {
		if err := lt.st.tx.Set(idxAttachmentLot.key(a.SHA256, []byte(l.ID)), nil); err != nil {
			return err
		}
	}
	lt.create(l)
	fx.lot = l
	return indexLGTIN(lt.st, rec, l.ID)
}

// newLotRef makes a new lot id and a trace code no lot has.
func newLotRef(st *state, q Quantity) (CreatedLot, error) {
	for {
		code := ident.NewTraceCode()
		if _, err := st.resolveLot(code); fault.KindOf(err) == fault.NotFound {
			return CreatedLot{ID: uuid.NewString(), TraceCode: code, Quantity: q}, nil
		} else if err != nil {
			return CreatedLot{}, err
		}
	}
}

// withDefaultTemp fills the product's storage limit from its category, so
// that the record carries the limit the rules applied.
func withDefaultTemp(p Product) Product {
	if t, ok := defaultMaxTempC[p.Category]; ok && p.MaxTempC == nil {
		p.MaxTempC = &t
	}
	return p
}

func checkTransformed(ev *Event, fe *fault.Fields) {
	checkSiteRef(fe, "site", ev.Site)
	if len(ev.Inputs) == 0 {
		fe.Add("inputs", "is required: the input lots")
	}
	if !input.List(fe, "inputs", ev.Inputs, maxInputs, "lot", func(in LotAmount) string { return in.Lot }) {
		return // the rest is sums over the inputs
	}
	for i, in := range ev.Inputs {
		f := indexField("inputs", i)
		if in.Lot == "" {
			fe.Add(f+".lot", "is required")
		}
		checkQuantity(fe, f+".quantity", &in.Quantity, true)
	}
	if len(ev.Outputs) == 0 {
		fe.Add("outputs", "is required: the products made")
	}
	if !input.List(fe, "outputs", ev.Outputs, maxOutputs, "", nil) { // equal outputs are two lots
		return
	}
	for i, out := range ev.Outputs {
		f := indexField("outputs", i)
		checkProduct(fe, f+".product", &out.Product, false)
		checkQuantity(fe, f+".quantity", &out.Quantity, true)
	}
	if ev.AddedGrams < 0 {
		fe.Add("added_grams", "must not be negative")
	}
	var in, out int64
	for _, i := range ev.Inputs {
		in += i.Quantity.Grams
	}
	for _, o := range ev.Outputs {
		out += o.Quantity.Grams
	}
	if out > in+ev.AddedGrams {
		fe.Add("outputs", "hold %d g, more than the %d g of inputs and %d g of added ingredients (declare what is added in added_grams)", out, in, ev.AddedGrams)
	}
	checkShares(ev, fe)
}

// checkShares checks the shares of inputs the outputs declare: each names
// an input once, no output holds more of the inputs than it weighs, no
// input gives more than was taken of it, and what is not from the inputs
// fits in added_grams.
func checkShares(ev *Event, fe *fault.Fields) {
	given := make([]int64, len(ev.Inputs))
	var added int64
	for i, out := range ev.Outputs {
		if len(out.Shares) == 0 {
			continue
		}
		f := indexField("outputs", i) + ".shares"
		input.List(fe, f, out.Shares, maxInputs, "input", func(s Share) string { return strconv.Itoa(s.Input) })
		var sum int64
		for j, s := range out.Shares {
			switch {
			case s.Input < 0 || s.Input >= len(ev.Inputs):
				fe.Add(indexField(f, j)+".input", "is not the index of an input")
				continue
			case s.Grams <= 0:
				fe.Add(indexField(f, j)+".grams", "must be a whole number of grams above 0")
			}
			sum += s.Grams
			given[s.Input] += s.Grams
		}
		if sum > out.Quantity.Grams {
			fe.Add(f, "hold %d g of the inputs, more than the output's %d g", sum, out.Quantity.Grams)
		}
		added += out.Quantity.Grams - sum
	}
	for i, g := range given {
		if i < len(ev.Inputs) && g > ev.Inputs[i].Quantity.Grams {
			fe.Add(indexField("inputs", i)+".quantity.grams", "is %d g, but the outputs' shares take %d g of it", ev.Inputs[i].Quantity.Grams, g)
		}
	}
	if slices.ContainsFunc(ev.Outputs, func(o Output) bool { return len(o.Shares) > 0 }) && added > ev.AddedGrams {
		fe.Add("added_grams", "is %d g, but the outputs hold %d g that is not from the inputs", ev.AddedGrams, added)
	}
}

// shareInputs requires the share of each input in each output when a
// processing has several inputs or outputs, and records it for one input
// and one output (policy version 1).
func shareInputs(st *state, rec *Record) error {
	if _, v1, err := st.policyV1(); err != nil || !v1 {
		return err
	}
	if len(rec.Inputs) == 1 && len(rec.Outputs) == 1 {
		if out := &rec.Outputs[0]; len(out.Shares) == 0 {
			out.Shares = []Share{{Input: 0, Grams: min(out.Quantity.Grams, rec.Inputs[0].Quantity.Grams)}}
		}
		return nil
	}
	for i, out := range rec.Outputs {
		if len(out.Shares) == 0 {
			return fault.InvalidField(indexField("outputs", i)+".shares", "is required when a processing has several inputs or outputs: the grams of each input in this output")
		}
	}
	return nil
}

func prepareTransformed(st *state, p Principal, rec *Record, _ *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	if err := shareInputs(st, rec); err != nil {
		return err
	}
	if site.Org != p.Org {
		return fault.Rejectf("site", "site %s belongs to %s, not to the processor", site.ID, site.Org)
	}
	var first *Lot
	for i := range rec.Inputs {
		in := &rec.Inputs[i]
		f := indexField("inputs", i)
		l, err := st.resolveLot(in.Lot)
		if fault.KindOf(err) == fault.NotFound {
			return fault.Rejectf(f+".lot", "no lot %s", in.Lot)
		} else if err != nil {
			return err
		}
		in.Lot = l.ID
		if slices.IndexFunc(rec.Inputs[:i], func(o LotAmount) bool { return o.Lot == l.ID }) >= 0 {
			return fault.InvalidField(f+".lot", "lists lot %s twice", l.TraceCode)
		}
		s, regions, err := lotStanding(st, p, l)
		if err != nil {
			return err
		}
		if err := authorize(rec.Kind, p, s, lotWhat(l), regions); err != nil {
			return err
		}
		if err := stopped(st, rec, l); err != nil {
			return err
		}
		if err := inTime(rec, l); err != nil {
			return err
		}
		if err := requireOnHand(l, f+".quantity.grams", in.Quantity.Grams); err != nil {
			return err
		}
		if first == nil {
			first = l
		}
	}
	rec.CreatedLots = nil
	for i := range rec.Outputs {
		out := &rec.Outputs[i]
		if out.Product.OriginCountry == "" {
			out.Product.OriginCountry = first.Product.OriginCountry
		}
		out.Product = withDefaultTemp(out.Product)
		c, err := newLotRef(st, out.Quantity)
		if err != nil {
			return err
		}
		rec.CreatedLots = append(rec.CreatedLots, c)
	}
	return nil
}

func applyTransformed(lt *lotTx, _ *Lot, fx *effects) error {
	rec := lt.rec
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	var inputs []*Lot
	for _, in := range rec.Inputs {
		l, err := lt.get(in.Lot)
		if err != nil {
			return err
		}
		l.addOrg(rec.Actor.Org)
		if err := lt.judgeOutflow(l, false, fx); err != nil {
			return err
		}
		l.Quantity.OnHand -= in.Quantity.Grams
		l.Quantity.Transformed += in.Quantity.Grams
		inputs = append(inputs, l)
	}
	for i, c := range rec.CreatedLots {
		out := inherit(inputs[0], c, rec)
		out.Product = rec.Outputs[i].Product
		out.Parents, out.Roots = nil, nil
		for _, in := range inputs {
			out.Parents = append(out.Parents, in.ID)
			for _, r := range in.roots() {
				if !slices.Contains(out.Roots, r) {
					out.Roots = append(out.Roots, r)
				}
			}
			in.Children = append(in.Children, out.ID)
			// The product is only as cleared as its least cleared input.
			out.Documents = slices.DeleteFunc(out.Documents, func(d string) bool { return !slices.Contains(in.Documents, d) })
			out.LastTest = weakerMark(out.LastTest, in.LastTest)
			out.LastDisinfection = weakerMark(out.LastDisinfection, in.LastDisinfection)
			out.Release = weakerMark(out.Release, in.Release)
			out.Clearance = weakerClearance(out.Clearance, in.Clearance)
			if in.Status.Sealed && !out.Status.Sealed {
				out.Status.Sealed, out.Status.SealReason, out.Status.SealSeq, out.Status.PositiveSeq = true, in.Status.SealReason, in.Status.SealSeq, in.Status.PositiveSeq
			}
			out.Status.Positive = out.Status.Positive || in.Status.Positive
			for _, o := range in.Orgs {
				out.addOrg(o)
			}
		}
		if len(out.Roots) == 1 {
			out.Roots = nil
		}
		out.Root = inputs[0].roots()[0]
		out.Quantity.OnHand = c.Quantity.Grams
		lt.newStay(out, rec.Actor.Org, site)
		lt.create(out)
	}
	return nil
}

// weakerMark returns the mark that counts for a product made of two inputs:
// none if either has none, else the older.
func weakerMark(a, b *Mark) *Mark {
	if a == nil || b == nil {
		return nil
	}
	if b.Seq < a.Seq || (b.Result != "" && b.Result != "negative") {
		return b
	}
	return a
}
