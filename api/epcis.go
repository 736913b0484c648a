package api

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// GET /v1/lots/{ref}/epcis answers a lot's history (with ?family=true, that
// of every lot of its batch) as one EPCIS 2.0 EPCISDocument. The mapping of
// coldtrace records to EPCIS events is the table of docs/epcis.md; keep the
// two together.

// VocabNS is the namespace of coldtrace's own vocabulary: the business
// steps and transaction types CBV 2.0 has no term for, and the user
// extension members of exported events (prefix "ct").
const VocabNS = "https://w3id.org/coldtrace/voc#"

// vocab returns a term of coldtrace's vocabulary.
func vocab(term string) string { return VocabNS + term }

// epcisPrefixes are the extension prefixes of exported documents.
var epcisPrefixes = map[string]bool{"ct": true}

// epcisMapper turns records into EPCIS events; base is the public origin
// that lot, site, org and attachment URIs are built under.
type epcisMapper struct {
	base  string
	codes map[string]string // lot id -> trace code
	glns  map[string]string // site id -> its GLN, for the sites that have one
}

// lotEPC is the EPC of a lot: its public page, or its API URL when its
// trace code is not known here.
func (m *epcisMapper) lotEPC(id string) string {
	if code, ok := m.codes[id]; ok {
		return m.base + "/t/" + code
	}
	return m.base + "/v1/lots/" + url.PathEscape(id)
}

// siteURI names a site: by its GLN when it has one, as a GS1 Digital Link
// (https://id.gs1.org/414/{GLN}: the SGLN EPC URI needs the company
// prefix length, which coldtrace does not know), else by its URL.
func (m *epcisMapper) siteURI(id string) string {
	if gln := m.glns[id]; gln != "" {
		return epcis.Identifier{AI: "414", Key: gln}.DigitalLink()
	}
	return m.base + "/v1/sites/" + url.PathEscape(id)
}
func (m *epcisMapper) orgURI(uscc string) string {
	return m.base + "/v1/orgs/" + url.PathEscape(uscc)
}

// vehicleID is a vehicle's EPCIS identifier: its GIAI as a GS1 Digital
// Link when it has one (the EPC URI form needs the company prefix length),
// else the URI of its plate (ledger.VehiclePlateURI). EPCIS 2.0 has no
// vehicle field, so it is ct:vehicle's ct:id.
func vehicleID(v *ledger.Vehicle) string {
	if v.GIAI != "" {
		return epcis.Identifier{AI: "8004", Key: v.GIAI}.DigitalLink()
	}
	return ledger.VehiclePlateURI(v.Plate)
}

func quantityExt(q *ledger.Quantity) map[string]any {
	if q == nil {
		return nil
	}
	out := map[string]any{"ct:grams": q.Grams}
	if q.Pieces > 0 {
		out["ct:pieces"] = q.Pieces
	}
	return out
}

func temperatureSensor(c float64) []map[string]any {
	return []map[string]any{{"sensorReport": []map[string]any{{"type": "Temperature", "value": c, "uom": "CEL"}}}}
}

// event maps one record to the members of its EPCIS event; ok is false for
// a record with no EPCIS counterpart (it names no lot).
func (m *epcisMapper) event(rec *ledger.Record) (ms []epcis.Member, ok bool) {
	typ := epcis.ObjectEvent
	if rec.Kind == ledger.Transformed {
		typ = epcis.TransformationEvent
	}
	ms = []epcis.Member{
		epcis.Field("type", typ),
		epcis.Field("eventTime", rec.At.In(chinaTime).Format("2006-01-02T15:04:05.000-07:00")),
		epcis.Field("eventTimeZoneOffset", "+08:00"),
		epcis.Field("recordTime", rec.RecordedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")),
		epcis.Field("eventID", "urn:uuid:"+rec.ID),
	}
	add := func(name string, v any) { ms = append(ms, epcis.Field(name, v)) }
	lotEPCs := func() []string {
		var l []string
		if rec.Lot != "" {
			l = append(l, m.lotEPC(rec.Lot))
		}
		for _, c := range rec.CreatedLots {
			l = append(l, m.lotEPC(c.ID))
		}
		return l
	}
	where := func(site string) {
		if site != "" {
			add("readPoint", map[string]string{"id": m.siteURI(site)})
			add("bizLocation", map[string]string{"id": m.siteURI(site)})
		}
	}
	observe := func(bizStep, disposition string) {
		add("action", epcis.ActionObserve)
		add("epcList", lotEPCs())
		add("bizStep", bizStep)
		if disposition != "" {
			add("disposition", disposition)
		}
	}
	switch rec.Kind {
	case ledger.Declared:
		add("action", epcis.ActionAdd)
		add("epcList", lotEPCs())
		if lgtin, err := epcis.LGTIN(rec.GTIN, rec.Batch, 0); err == nil && rec.Quantity != nil {
			// The batch's GS1 identity, as the class of the goods declared.
			add("quantityList", []map[string]any{{"epcClass": lgtin.DigitalLink(), "quantity": float64(rec.Quantity.Grams) / 1000, "uom": "KGM"}})
		}
		add("bizStep", "commissioning")
		add("disposition", "active")
		where(rec.Site)
		if rec.DeclarationNo != "" {
			add("bizTransactionList", []map[string]string{{"type": vocab("BTT-customs_declaration"),
				"bizTransaction": m.base + "/v1/lots?declaration=" + url.QueryEscape(rec.DeclarationNo)}})
		}
		ilmd := map[string]any{}
		if p := rec.Product; p != nil {
			prod := map[string]any{"ct:name": p.Name, "ct:hsCode": p.HSCode, "ct:category": p.Category, "ct:originCountry": p.OriginCountry}
			if p.ProductionDate != "" {
				prod["ct:productionDate"] = p.ProductionDate
			}
			if p.ShelfLifeDays > 0 {
				prod["ct:shelfLifeDays"] = p.ShelfLifeDays
			}
			if p.Producer != "" {
				prod["ct:producer"] = p.Producer
			}
			if p.MaxTempC != nil {
				prod["ct:maxTempC"] = *p.MaxTempC
			}
			ilmd["ct:product"] = prod
		}
		if len(rec.Containers) > 0 {
			var cs []map[string]string
			for _, c := range rec.Containers {
				e := map[string]string{"ct:number": c.Number}
				if c.Seal != "" {
					e["ct:seal"] = c.Seal
				}
				cs = append(cs, e)
			}
			ilmd["ct:containers"] = cs
		}
		if len(ilmd) > 0 {
			add("ilmd", ilmd)
		}
	case ledger.Tested:
		disp := "conformant"
		if rec.Result != "negative" {
			disp = "non_conformant"
		}
		observe("inspecting", disp)
		test := map[string]any{"ct:result": rec.Result, "ct:samples": rec.Samples}
		if len(rec.Scope) > 0 {
			test["ct:scope"] = rec.Scope
		}
		if rec.RetestOf > 0 {
			test["ct:retestOf"] = rec.RetestOf
		}
		add("ct:nucleicAcidTest", test)
	case ledger.Disinfected:
		observe(vocab("BizStep-disinfecting"), "")
		d := map[string]any{"ct:agent": rec.Agent}
		if len(rec.Scope) > 0 {
			d["ct:scope"] = rec.Scope
		}
		add("ct:disinfection", d)
	case ledger.Released:
		observe(vocab("BizStep-releasing"), vocab("Disp-released"))
	case ledger.Shipped:
		observe("shipping", "in_transit")
		add("sourceList", []map[string]string{{"type": "possessing_party", "source": m.orgURI(rec.Actor.Org)}})
		dest := []map[string]string{}
		if rec.ToOrg != "" {
			dest = append(dest, map[string]string{"type": "possessing_party", "destination": m.orgURI(rec.ToOrg)})
		}
		if rec.ToSite != "" {
			dest = append(dest, map[string]string{"type": "location", "destination": m.siteURI(rec.ToSite)})
		}
		if len(dest) > 0 {
			add("destinationList", dest)
		}
		if rec.TemperatureC != nil {
			add("sensorElementList", temperatureSensor(*rec.TemperatureC))
		}
		if v := rec.Vehicle; v != nil {
			veh := map[string]string{"ct:plate": v.Plate, "ct:id": vehicleID(v)}
			if v.Carrier != "" {
				veh["ct:carrier"] = v.Carrier
			}
			add("ct:vehicle", veh)
		}
		if rec.Deadline != nil {
			add("ct:deadline", rec.Deadline.UTC().Format(time.RFC3339))
		}
	case ledger.Received:
		observe("receiving", "in_progress")
		where(rec.Site)
		add("destinationList", []map[string]string{{"type": "possessing_party", "destination": m.orgURI(rec.Actor.Org)}})
		if rec.TemperatureC != nil {
			add("sensorElementList", temperatureSensor(*rec.TemperatureC))
		}
	case ledger.Transformed:
		var in, out []string
		var inputs []map[string]any
		for _, x := range rec.Inputs {
			in = append(in, m.lotEPC(x.Lot))
			inputs = append(inputs, map[string]any{"ct:lot": m.lotEPC(x.Lot), "ct:quantity": quantityExt(&x.Quantity)})
		}
		for _, c := range rec.CreatedLots {
			out = append(out, m.lotEPC(c.ID))
		}
		if len(in) == 0 || len(out) == 0 {
			return nil, false
		}
		add("inputEPCList", in)
		add("outputEPCList", out)
		add("bizStep", vocab("BizStep-processing"))
		where(rec.Site)
		var outputs []map[string]any
		for i, o := range rec.Outputs {
			e := map[string]any{"ct:product": map[string]any{"ct:name": o.Product.Name, "ct:hsCode": o.Product.HSCode, "ct:category": o.Product.Category},
				"ct:quantity": quantityExt(&rec.Outputs[i].Quantity)}
			if i < len(out) {
				e["ct:lot"] = out[i]
			}
			// What a capture needs to process the same way (ledger/epcis_effects_transform.go).
			var shares []map[string]int64
			for _, sh := range o.Shares {
				shares = append(shares, map[string]int64{"ct:input": int64(sh.Input), "ct:grams": sh.Grams})
			}
			if len(shares) > 0 {
				e["ct:shares"] = shares
			}
			outputs = append(outputs, e)
		}
		if len(outputs) > 0 {
			add("ilmd", map[string]any{"ct:outputs": outputs})
		}
		add("ct:inputs", inputs)
		if rec.AddedGrams > 0 {
			add("ct:addedGrams", rec.AddedGrams)
		}
	case ledger.Sold:
		observe("retail_selling", "retail_sold")
		if rec.Channel != "" {
			add("ct:channel", rec.Channel)
		}
	case ledger.Consumed:
		observe(vocab("BizStep-consuming"), "")
	case ledger.Destroyed:
		observe("destroying", "destroyed")
		if rec.Method != "" {
			add("ct:method", rec.Method)
		}
		if rec.Order != "" {
			add("ct:order", rec.Order)
		}
	case ledger.Sealed:
		observe("holding", "unavailable")
	case ledger.Unsealed:
		observe(vocab("BizStep-unsealing"), "available")
	case ledger.TemperatureRecorded:
		observe("sensor_reporting", "")
		rep := map[string]any{"type": "Temperature", "uom": "CEL"}
		if rec.MinC != nil {
			rep["minValue"] = *rec.MinC
		}
		if rec.MaxC != nil {
			rep["maxValue"] = *rec.MaxC
		}
		add("sensorElementList", []map[string]any{{"sensorReport": []map[string]any{rep}, "ct:readings": rec.Readings}})
	default:
		if rec.Lot == "" {
			return nil, false
		}
		observe(vocab("BizStep-"+string(rec.Kind)), "")
	}
	if rec.Quantity != nil && rec.Kind != ledger.Transformed {
		add("ct:quantity", quantityExt(rec.Quantity))
	}
	if rec.Reason != "" {
		add("ct:reason", rec.Reason)
	}
	if rec.Note != "" {
		add("ct:note", rec.Note)
	}
	if len(rec.Attachments) > 0 {
		var certs []string
		var links []map[string]string
		for _, a := range rec.Attachments {
			u := m.base + "/v1/attachments/" + a.SHA256
			certs = append(certs, u)
			links = append(links, map[string]string{"ct:href": u, "ct:type": a.Type, "ct:sha256": a.SHA256})
		}
		add("certificationInfo", certs)
		add("ct:documents", links)
	}
	add("ct:record", map[string]any{"ct:seq": rec.Seq, "ct:kind": string(rec.Kind), "ct:org": m.orgURI(rec.Actor.Org)})
	return ms, true
}

// lotEPCIS answers GET /v1/lots/{ref}/epcis.
func (s *server) lotEPCIS(c *gin.Context) {
	p := principal(c)
	family := false
	if v := c.Query("family"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fail(c, invalidParam("family", "must be true or false"))
			return
		}
		family = b
	}
	h, err := s.l.LotEvents(c.Request.Context(), p, c.Param("ref"))
	if err != nil {
		fail(c, err)
		return
	}
	histories := []*ledger.LotRecords{h}
	if family {
		roots := h.Lot.Roots
		if len(roots) == 0 {
			roots = []string{h.Lot.Root}
		}
		seen := map[string]bool{h.Lot.ID: true}
		for _, root := range roots {
			tr, err := s.l.Trace(c.Request.Context(), p, root, ledger.TraceDown, 0)
			if err != nil {
				fail(c, err)
				return
			}
			if tr.Truncated {
				fail(c, fault.Errorf(fault.Invalid, "the batch has more lots than one answer holds; export its lots one by one"))
				return
			}
			for _, tl := range tr.Lots {
				if tl.Hidden || seen[tl.ID] {
					continue
				}
				seen[tl.ID] = true
				lh, err := s.l.LotEvents(c.Request.Context(), p, tl.ID)
				if err != nil {
					fail(c, err)
					return
				}
				histories = append(histories, lh)
			}
		}
	}
	page, err := s.publicURL(c, "")
	if err != nil {
		fail(c, err)
		return
	}
	m := &epcisMapper{base: strings.TrimSuffix(page, "/t/"), codes: map[string]string{}}
	recs := map[int64]*ledger.Record{}
	for _, hist := range histories {
		m.codes[hist.Lot.ID] = hist.Lot.TraceCode
		for _, raw := range hist.Records {
			rec, err := ledger.DecodeRecord(raw)
			if err != nil {
				fail(c, err)
				return
			}
			recs[rec.Seq] = rec
			for _, cl := range rec.CreatedLots {
				m.codes[cl.ID] = cl.TraceCode
			}
		}
	}
	if err := s.siteGLNs(c, m, recs); err != nil {
		fail(c, err)
		return
	}
	seqs := make([]int64, 0, len(recs))
	for seq := range recs {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })

	mapped := map[int64][]epcis.Member{}
	var events []epcis.Event
	emit := func(ms []epcis.Member) bool {
		e, err := epcis.NewEvent(epcisPrefixes, ms...)
		if err != nil {
			fail(c, fault.Wrap(fault.Internal, "an exported event breaks the EPCIS rules", err))
			return false
		}
		events = append(events, e)
		return true
	}
	for _, seq := range seqs {
		rec := recs[seq]
		if rec.Kind == ledger.Voided {
			// A void is an EPCIS error declaration: the voided event again,
			// with errorDeclaration.
			orig, ok := mapped[rec.Voids]
			if !ok {
				continue
			}
			decl := map[string]any{"declarationTime": rec.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
				"reason": "incorrect_data", "ct:voidedBy": "urn:uuid:" + rec.ID}
			if rec.Reason != "" {
				decl["ct:reason"] = rec.Reason
			}
			if !emit(append(append([]epcis.Member{}, orig...), epcis.Field("errorDeclaration", decl))) {
				return
			}
			continue
		}
		ms, ok := m.event(rec)
		if !ok {
			continue
		}
		mapped[seq] = ms
		if !emit(ms) {
			return
		}
	}
	doc, err := epcis.Encode(time.Now(), epcis.Header{Prefixes: map[string]string{"ct": VocabNS},
		InstanceIdentifier: h.Lot.TraceCode}, events)
	if err != nil {
		fail(c, fault.Wrap(fault.Internal, "encoding the EPCIS document", err))
		return
	}
	c.Data(http.StatusOK, "application/ld+json", doc)
}

// siteGLNs looks up the GLN of every site the records name.
func (s *server) siteGLNs(c *gin.Context, m *epcisMapper, recs map[int64]*ledger.Record) error {
	m.glns = map[string]string{}
	for _, rec := range recs {
		for _, id := range []string{rec.Site, rec.ToSite} {
			if _, done := m.glns[id]; done || id == "" {
				continue
			}
			site, err := s.l.Site(c.Request.Context(), id)
			switch {
			case fault.KindOf(err) == fault.NotFound:
				m.glns[id] = ""
			case err != nil:
				return err
			default:
				m.glns[id] = site.GLN
			}
		}
	}
	return nil
}
