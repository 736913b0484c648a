package ledger

// A captured TransformationEvent whose inputs name coldtrace lots takes
// effect as transformed when it carries what a processing needs, as the
// export writes it (api/epcis.go): the inputs with their quantities in
// ct:inputs [{ct:lot, ct:quantity}], the products made in ilmd ct:outputs
// [{ct:product {ct:name, ct:hsCode, ct:category, ...}, ct:quantity,
// ct:shares}], ct:addedGrams, and the processing site as bizLocation (or
// readPoint). The outputs become new coldtrace lots with trace codes of
// their own (the event's outputEPCList is kept as sent). A
// TransformationEvent without ct:inputs or ct:outputs is kept with no
// effect: EPCIS has no standard field for what was made and how much.

// epcisTransformation maps a TransformationEvent to transformed, if it
// names coldtrace lots among its inputs and carries the extensions.
func epcisTransformation(c epcisSubject, x *ctExt, find epcisLookup) (Event, bool, error) {
	named := false
	for _, epc := range c.InputEPCs() {
		l, err := epcisLotByURL(epc, find)
		if err != nil {
			return Event{}, false, err
		}
		named = named || l != nil
	}
	for _, q := range c.InputQuantityList() {
		l, err := epcisLotByURL(q.EPCClass, find)
		if err != nil {
			return Event{}, false, err
		}
		named = named || l != nil
	}
	root := x.root()
	_, hasIn := root.m[x.term("inputs")]
	ilmd := root.x.objOf("ilmd", root.m["ilmd"], root.m["ilmd"] != nil, false)
	hasOut := ilmd != nil && ilmd.m[x.term("outputs")] != nil
	if !named || !hasIn || !hasOut {
		return Event{}, false, nil
	}
	ev := Event{Kind: Transformed, At: c.Time()}
	loc := c.BizLocation()
	if loc == "" {
		loc = c.ReadPoint()
	}
	site, err := epcisSite(loc, find)
	if err != nil {
		return Event{}, false, err
	}
	if site == nil {
		x.fe.Add("bizLocation", "must be the coldtrace site where the goods were processed ({coldtrace URL}/v1/sites/{id} or its GLN)")
	} else {
		ev.Site = site.ID
	}
	for _, in := range root.list("inputs", true) {
		ref := in.str("lot", true)
		l, err := epcisLotByURL(ref, find)
		if l == nil && err == nil {
			l, err = lotByLGTIN(c.Event, ref, in.sub("lot"), find)
		}
		if err != nil {
			return Event{}, false, err
		}
		q := in.quantity(true)
		if l == nil {
			if ref != "" {
				x.fe.Add(in.sub("lot"), "names no coldtrace lot")
			}
			continue
		}
		if q != nil {
			ev.Inputs = append(ev.Inputs, LotAmount{Lot: l.ID, Quantity: *q})
		}
	}
	for _, out := range ilmd.list("outputs", true) {
		o := Output{}
		if p := out.obj("product", true); p != nil {
			o.Product = Product{Name: p.str("name", true), HSCode: p.str("hsCode", true), Category: p.str("category", true),
				OriginCountry: p.str("originCountry", false), Spec: p.str("spec", false), ProductionDate: p.str("productionDate", false),
				Producer: p.str("producer", false)}
			o.Product.ShelfLifeDays, _ = p.int("shelfLifeDays", false)
		}
		if q := out.quantity(true); q != nil {
			o.Quantity = *q
		}
		for _, sh := range out.list("shares", false) {
			in, _ := sh.int("input", true)
			g, _ := sh.int("grams", true)
			o.Shares = append(o.Shares, Share{Input: int(in), Grams: g})
		}
		ev.Outputs = append(ev.Outputs, o)
	}
	ev.AddedGrams, _ = root.int("addedGrams", false)
	if err := x.fe.Err(); err != nil {
		return Event{}, false, err
	}
	return ev, true, nil
}
