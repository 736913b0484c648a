package ledger

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Lot and site event kinds (API.md, "Recording events").
const (
	Declared            EventKind = "declared"
	DocumentsAdded      EventKind = "documents_added"
	Tested              EventKind = "tested"
	Disinfected         EventKind = "disinfected"
	Released            EventKind = "released"
	Shipped             EventKind = "shipped"
	Received            EventKind = "received"
	Transformed         EventKind = "transformed"
	Sold                EventKind = "sold"
	Consumed            EventKind = "consumed"
	Destroyed           EventKind = "destroyed"
	Sealed              EventKind = "sealed"
	Unsealed            EventKind = "unsealed"
	TemperatureRecorded EventKind = "temperature_recorded"
	SiteTested          EventKind = "site_tested"
	SiteDisinfected     EventKind = "site_disinfected"
	Voided              EventKind = "voided"
	FindingClosed       EventKind = "finding_closed"
	// TransitOverdue is written by the ledger itself when shipments pass
	// their deadline unreceived.
	TransitOverdue EventKind = "transit_overdue"
)

// Product categories: they fix the storage temperature the rules expect.
const (
	CategoryFrozen       = "frozen"         // 冷冻: at or below -18 °C
	CategoryChilled      = "chilled"        // 冷藏: 0-4 °C
	CategoryNonColdChain = "non_cold_chain" // 进口高风险非冷链货物
)

// Categories lists the product categories.
var Categories = []string{CategoryFrozen, CategoryChilled, CategoryNonColdChain}

// defaultMaxTempC is the highest storage temperature of a category, when the
// declaration does not state one.
var defaultMaxTempC = map[string]float64{CategoryFrozen: -18, CategoryChilled: 4}

// The vocabularies of event fields.
var (
	TestScopes         = []string{"goods", "packaging", "container", "vehicle"}
	TestResults        = []string{"negative", "positive"}
	DisinfectionScopes = []string{"container", "outer_packaging", "each_piece", "vehicle", "cold_store"}
	SaleChannels       = []string{"retail", "wholesale", "catering", "online", "processing"}
	DestroyMethods     = []string{"incineration", "burial", "rendering", "return_export", "other"}
	SiteTestScopes     = []string{"environment", "workers"}
)

// DefaultTransitDeadline is how long a shipment may take before it is
// overdue, when the shipped event states no deadline.
const DefaultTransitDeadline = 48 * time.Hour

// DefaultSiteWindowDays is how far back a positive site test reaches: every
// lot present at the site in that many days before the test gets a finding.
const DefaultSiteWindowDays = 14

// A Product describes the goods of a lot.
type Product struct {
	Name           string   `json:"name"`
	HSCode         string   `json:"hs_code"`
	Category       string   `json:"category"`
	OriginCountry  string   `json:"origin_country"`
	Spec           string   `json:"spec,omitempty"`
	ProductionDate string   `json:"production_date,omitempty"` // YYYY-MM-DD
	ShelfLifeDays  int64    `json:"shelf_life_days,omitempty"`
	Producer       string   `json:"producer,omitempty"` // overseas plant name or registration number
	MaxTempC       *float64 `json:"max_temp_c,omitempty"`
}

// A Container is a shipping container a declared lot arrived in.
type Container struct {
	Number string `json:"number"`
	Seal   string `json:"seal,omitempty"`
}

// A Vehicle is what carried a shipment: its plate and, optionally, the
// carrier org.
type Vehicle struct {
	Plate   string `json:"plate"`
	Carrier string `json:"carrier,omitempty"`
}

// A LotAmount is a quantity taken from a lot (the inputs of a
// transformation).
type LotAmount struct {
	Lot      string   `json:"lot"`
	Quantity Quantity `json:"quantity"`
}

// An Output is a product made by a transformation.
type Output struct {
	Product  Product  `json:"product"`
	Quantity Quantity `json:"quantity"`
}

// eventFields lists, per kind submitted through /v1/events, the JSON fields
// it takes besides kind, at, note and attachments.
var eventFields = map[EventKind][]string{
	Declared:            {"site", "product", "declaration_no", "containers", "quantity"},
	DocumentsAdded:      {"lot"},
	Tested:              {"lot", "samples", "scope", "result", "retest_of"},
	Disinfected:         {"lot", "scope", "agent"},
	Released:            {"lot"},
	Shipped:             {"lot", "to_org", "to_site", "quantity", "vehicle", "temperature_c", "deadline"},
	Received:            {"lot", "site", "quantity", "temperature_c"},
	Transformed:         {"site", "inputs", "outputs"},
	Sold:                {"lot", "quantity", "channel"},
	Consumed:            {"lot", "quantity"},
	Destroyed:           {"lot", "quantity", "method", "order"},
	Sealed:              {"lot", "reason"},
	Unsealed:            {"lot", "reason"},
	TemperatureRecorded: {"lot", "min_c", "max_c", "readings"},
	SiteTested:          {"site", "scope", "samples", "positives", "window_days"},
	SiteDisinfected:     {"site", "scope", "agent"},
	Voided:              {"voids", "reason"},
	FindingClosed:       {"finding", "reason"},
}

// LotEventKinds lists the kinds a client may submit to /v1/events.
func LotEventKinds() []EventKind {
	out := make([]EventKind, 0, len(eventFields))
	for k := range eventFields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// jsonFieldIndex maps Event's JSON field names to struct field indexes.
var jsonFieldIndex = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Event]()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

// checkOnlyFields adds an error for every field ev sets that its kind does
// not take.
func checkOnlyFields(ev *Event, fe *fieldErrors) {
	allowed := map[string]bool{"kind": true, "at": true, "note": true, "attachments": true}
	for _, f := range eventFields[ev.Kind] {
		allowed[f] = true
	}
	v := reflect.ValueOf(ev).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if !allowed[name] && !v.Field(i).IsZero() {
			fe.add(name, "is not a field of a %s event", ev.Kind)
		}
	}
}

// lotCheck wraps a kind's own field checks with the checks every lot event
// shares.
func lotCheck(own func(ev *Event, fe *fieldErrors)) func(ev *Event, fe *fieldErrors) {
	return func(ev *Event, fe *fieldErrors) {
		checkOnlyFields(ev, fe)
		checkText(fe, "note", ev.Note, false, 1000)
		checkAttachmentRefs(fe, ev.Attachments)
		if slices.Contains(eventFields[ev.Kind], "lot") && ev.Lot == "" {
			fe.add("lot", "is required (a trace code or lot id)")
		}
		if own != nil {
			own(ev, fe)
		}
	}
}

func checkQuantity(fe *fieldErrors, field string, q *Quantity, required bool) {
	switch {
	case q == nil:
		if required {
			fe.add(field, "is required (an object with integer grams)")
		}
	case q.Grams <= 0:
		fe.add(field+".grams", "must be a whole number of grams above 0")
	case q.Grams > 1e12:
		fe.add(field+".grams", "is more than 1,000,000 tonnes")
	case q.Pieces < 0:
		fe.add(field+".pieces", "must not be negative")
	}
}

func checkOneOf(fe *fieldErrors, field, v string, set []string, required bool) {
	if v == "" {
		if required {
			fe.add(field, "is required (one of %s)", strings.Join(set, ", "))
		}
		return
	}
	if !slices.Contains(set, v) {
		fe.add(field, "unknown value %q (one of %s)", v, strings.Join(set, ", "))
	}
}

func checkSet(fe *fieldErrors, field string, vs []string, set []string, required bool) {
	if len(vs) == 0 && required {
		fe.add(field, "is required (a list of %s)", strings.Join(set, ", "))
	}
	for i, v := range vs {
		checkOneOf(fe, indexField(field, i), v, set, true)
		if slices.Index(vs, v) != i {
			fe.add(indexField(field, i), "repeats %q", v)
		}
	}
}

func checkTemp(fe *fieldErrors, field string, t *float64) {
	if t != nil && (math.IsNaN(*t) || *t < -80 || *t > 80) {
		fe.add(field, "must be a temperature in °C between -80 and 80")
	}
}

func checkSiteRef(fe *fieldErrors, field, id string) {
	if id == "" {
		fe.add(field, "is required (a site id)")
	} else if !siteIDPattern.MatchString(id) {
		fe.add(field, "is not a site id")
	}
}

func checkProduct(fe *fieldErrors, field string, p *Product, needOrigin bool) {
	if p == nil {
		fe.add(field, "is required")
		return
	}
	checkText(fe, field+".name", p.Name, true, 200)
	if !ValidHSCode(p.HSCode) {
		fe.add(field+".hs_code", "is not an HS code (4 to 10 digits, chapter 01-97)")
	}
	checkOneOf(fe, field+".category", p.Category, Categories, true)
	if p.OriginCountry == "" && needOrigin {
		fe.add(field+".origin_country", "is required (ISO 3166 alpha-2, such as BR)")
	} else if p.OriginCountry != "" && !ValidCountry(p.OriginCountry) {
		fe.add(field+".origin_country", "is not an ISO 3166 alpha-2 country code (such as BR, NZ, AR)")
	}
	checkText(fe, field+".spec", p.Spec, false, 200)
	checkText(fe, field+".producer", p.Producer, false, 200)
	if p.ProductionDate != "" {
		if _, err := time.Parse(time.DateOnly, p.ProductionDate); err != nil {
			fe.add(field+".production_date", "must be a date as YYYY-MM-DD")
		}
	}
	if p.ShelfLifeDays < 0 || p.ShelfLifeDays > 3650 {
		fe.add(field+".shelf_life_days", "must be between 0 and 3650")
	}
	checkTemp(fe, field+".max_temp_c", p.MaxTempC)
}

func checkDeclared(ev *Event, fe *fieldErrors) {
	checkSiteRef(fe, "site", ev.Site)
	checkProduct(fe, "product", ev.Product, true)
	if !ValidDeclarationNo(ev.DeclarationNo) {
		fe.add("declaration_no", "is not a customs declaration number (18 digits)")
	}
	if len(ev.Containers) > 200 {
		fe.add("containers", "lists more than 200 containers")
	}
	for i, c := range ev.Containers {
		f := indexField("containers", i)
		if !ValidContainer(c.Number) {
			if len(c.Number) == 11 {
				if d, ok := ISO6346CheckDigit(c.Number[:10]); ok {
					fe.add(f+".number", "check digit is %c, want %c (ISO 6346)", c.Number[10], d)
					continue
				}
			}
			fe.add(f+".number", "is not an ISO 6346 container number (4 letters ending in U, J or Z, 6 digits and a check digit)")
		}
		checkText(fe, f+".seal", c.Seal, false, 40)
	}
	checkQuantity(fe, "quantity", ev.Quantity, true)
}

func checkDocumentsAdded(ev *Event, fe *fieldErrors) {
	if len(ev.Attachments) == 0 {
		fe.add("attachments", "is required: the documents to add to the lot (customs declaration, quarantine certificate)")
	}
}

func checkTested(ev *Event, fe *fieldErrors) {
	if ev.Samples <= 0 || ev.Samples > 100000 {
		fe.add("samples", "must be the number of samples taken, at least 1")
	}
	checkSet(fe, "scope", ev.Scope, TestScopes, true)
	checkOneOf(fe, "result", ev.Result, TestResults, true)
	if ev.RetestOf < 0 {
		fe.add("retest_of", "must be the seq of an earlier tested record")
	}
}

func checkDisinfected(ev *Event, fe *fieldErrors) {
	checkSet(fe, "scope", ev.Scope, DisinfectionScopes, true)
	checkText(fe, "agent", ev.Agent, true, 100)
}

func checkReleased(ev *Event, fe *fieldErrors) {
	if !slices.ContainsFunc(ev.Attachments, func(a AttachmentRef) bool { return a.Type == DocReleaseCertificate }) {
		fe.add("attachments", "a release needs its release certificate: an attachment of type %s", DocReleaseCertificate)
	}
}

func checkShipped(ev *Event, fe *fieldErrors) {
	if !USCCShapeOK(ev.ToOrg) {
		fe.add("to_org", "is required (the receiver's unified social credit code)")
	}
	checkSiteRef(fe, "to_site", ev.ToSite)
	checkQuantity(fe, "quantity", ev.Quantity, true)
	if v := ev.Vehicle; v != nil {
		if !ValidPlate(v.Plate) {
			fe.add("vehicle.plate", "is not a Chinese vehicle plate (such as 沪A12345 or 浙AD12345)")
		}
		if v.Carrier != "" && !USCCShapeOK(v.Carrier) {
			fe.add("vehicle.carrier", "is not a unified social credit code")
		}
	}
	checkTemp(fe, "temperature_c", ev.TemperatureC)
	if ev.Deadline != nil && !ev.At.IsZero() && !ev.Deadline.After(ev.At) {
		fe.add("deadline", "must be after at")
	}
}

func checkReceived(ev *Event, fe *fieldErrors) {
	checkSiteRef(fe, "site", ev.Site)
	checkQuantity(fe, "quantity", ev.Quantity, true)
	checkTemp(fe, "temperature_c", ev.TemperatureC)
}

func checkTransformed(ev *Event, fe *fieldErrors) {
	checkSiteRef(fe, "site", ev.Site)
	if len(ev.Inputs) == 0 || len(ev.Inputs) > 100 {
		fe.add("inputs", "must list 1 to 100 input lots")
	}
	for i, in := range ev.Inputs {
		f := indexField("inputs", i)
		if in.Lot == "" {
			fe.add(f+".lot", "is required")
		}
		checkQuantity(fe, f+".quantity", &in.Quantity, true)
	}
	if len(ev.Outputs) == 0 || len(ev.Outputs) > 100 {
		fe.add("outputs", "must list 1 to 100 products")
	}
	for i, out := range ev.Outputs {
		f := indexField("outputs", i)
		checkProduct(fe, f+".product", &out.Product, false)
		checkQuantity(fe, f+".quantity", &out.Quantity, true)
	}
}

func checkSold(ev *Event, fe *fieldErrors) {
	checkQuantity(fe, "quantity", ev.Quantity, true)
	checkOneOf(fe, "channel", ev.Channel, SaleChannels, true)
}

func checkConsumed(ev *Event, fe *fieldErrors) {
	checkQuantity(fe, "quantity", ev.Quantity, true)
}

func checkDestroyed(ev *Event, fe *fieldErrors) {
	checkQuantity(fe, "quantity", ev.Quantity, true)
	checkOneOf(fe, "method", ev.Method, DestroyMethods, true)
	checkText(fe, "order", ev.Order, false, 200)
}

func checkReason(ev *Event, fe *fieldErrors) {
	checkText(fe, "reason", ev.Reason, true, 500)
}

func checkTemperatureRecorded(ev *Event, fe *fieldErrors) {
	if ev.MinC == nil {
		fe.add("min_c", "is required")
	}
	if ev.MaxC == nil {
		fe.add("max_c", "is required")
	}
	checkTemp(fe, "min_c", ev.MinC)
	checkTemp(fe, "max_c", ev.MaxC)
	if ev.MinC != nil && ev.MaxC != nil && *ev.MinC > *ev.MaxC {
		fe.add("min_c", "is above max_c")
	}
	if ev.Readings <= 0 {
		fe.add("readings", "must be the number of readings, at least 1")
	}
	if !slices.ContainsFunc(ev.Attachments, func(a AttachmentRef) bool { return a.Type == DocTemperatureLog }) {
		fe.add("attachments", "a temperature record needs its raw log: an attachment of type %s", DocTemperatureLog)
	}
}

func checkSiteTested(ev *Event, fe *fieldErrors) {
	checkSiteRef(fe, "site", ev.Site)
	checkSet(fe, "scope", ev.Scope, SiteTestScopes, true)
	if ev.Samples <= 0 || ev.Samples > 100000 {
		fe.add("samples", "must be the number of samples taken, at least 1")
	}
	switch {
	case ev.Positives == nil:
		fe.add("positives", "is required (0 when every sample was negative)")
	case *ev.Positives < 0 || *ev.Positives > ev.Samples:
		fe.add("positives", "must be between 0 and samples")
	}
	if ev.WindowDays < 0 || ev.WindowDays > 90 {
		fe.add("window_days", "must be between 1 and 90")
	}
}

func checkSiteDisinfected(ev *Event, fe *fieldErrors) {
	checkSiteRef(fe, "site", ev.Site)
	checkSet(fe, "scope", ev.Scope, DisinfectionScopes, false)
	checkText(fe, "agent", ev.Agent, true, 100)
}

func checkVoided(ev *Event, fe *fieldErrors) {
	if ev.Voids <= 0 {
		fe.add("voids", "is required: the seq of the record to void")
	}
	checkText(fe, "reason", ev.Reason, true, 500)
}

func checkFindingClosed(ev *Event, fe *fieldErrors) {
	if ev.Finding == "" {
		fe.add("finding", "is required: the id of the finding to close")
	}
	checkText(fe, "reason", ev.Reason, true, 500)
}
