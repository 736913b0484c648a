package ledger

import (
	"math"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
	"coldtrace/ledger/input"
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
	FindingAcknowledged EventKind = "finding_acknowledged"
	// TransitOverdue is written by the ledger itself when shipments pass
	// their deadline unreceived.
	TransitOverdue EventKind = "transit_overdue"
	// FindingsOverdue is written by the ledger itself when findings pass
	// their acknowledgement deadline unacknowledged.
	FindingsOverdue EventKind = "findings_overdue"
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
// carrier org and its GS1 Global Individual Asset Identifier (GIAI, AI
// 8004; only records written since it existed carry one).
type Vehicle struct {
	Plate   string `json:"plate"`
	Carrier string `json:"carrier,omitempty"`
	GIAI    string `json:"giai,omitempty"`
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
	// Shares says how many grams of each input the output contains; the
	// rest of its weight is added ingredients (added_grams).
	Shares []Share `json:"shares,omitempty"`
}

// A Share is the grams of one input (by its index in inputs) in an output.
type Share struct {
	Input int   `json:"input"`
	Grams int64 `json:"grams"`
}

func checkQuantity(fe *fault.Fields, field string, q *Quantity, required bool) {
	switch {
	case q == nil:
		if required {
			fe.Add(field, "is required (an object with integer grams)")
		}
	case q.Grams <= 0:
		fe.Add(field+".grams", "must be a whole number of grams above 0")
	case q.Grams > 1e12:
		fe.Add(field+".grams", "is more than 1,000,000 tonnes")
	case q.Pieces < 0:
		fe.Add(field+".pieces", "must not be negative")
	}
}

func checkOneOf(fe *fault.Fields, field, v string, set []string, required bool) {
	if v == "" {
		if required {
			fe.Add(field, "is required (one of %s)", strings.Join(set, ", "))
		}
		return
	}
	if !slices.Contains(set, v) {
		fe.Add(field, "unknown value %q (one of %s)", v, strings.Join(set, ", "))
	}
}

func checkSet(fe *fault.Fields, field string, vs []string, set []string, required bool) {
	if len(vs) == 0 && required {
		fe.Add(field, "is required (a list of %s)", strings.Join(set, ", "))
	}
	if !input.List(fe, field, vs, len(set), "", func(v string) string { return v }) {
		return
	}
	for i, v := range vs {
		checkOneOf(fe, indexField(field, i), v, set, true)
	}
}

func checkTemp(fe *fault.Fields, field string, t *float64) {
	if t != nil && (math.IsNaN(*t) || *t < -80 || *t > 80) {
		fe.Add(field, "must be a temperature in °C between -80 and 80")
	}
}

func checkSiteRef(fe *fault.Fields, field, id string) {
	if id == "" {
		fe.Add(field, "is required (a site id)")
	} else if !siteIDPattern.MatchString(id) {
		fe.Add(field, "is not a site id")
	}
}

func checkProduct(fe *fault.Fields, field string, p *Product, needOrigin bool) {
	if p == nil {
		fe.Add(field, "is required")
		return
	}
	checkText(fe, field+".name", p.Name, true, 200)
	if !ident.ValidHSCode(p.HSCode) {
		fe.Add(field+".hs_code", "is not an HS code (4 to 10 digits, chapter 01-97)")
	}
	checkOneOf(fe, field+".category", p.Category, Categories, true)
	if p.OriginCountry == "" && needOrigin {
		fe.Add(field+".origin_country", "is required (ISO 3166 alpha-2, such as BR)")
	} else if p.OriginCountry != "" && !ident.ValidCountry(p.OriginCountry) {
		fe.Add(field+".origin_country", "is not an ISO 3166 alpha-2 country code (such as BR, NZ, AR)")
	}
	checkText(fe, field+".spec", p.Spec, false, 200)
	checkText(fe, field+".producer", p.Producer, false, 200)
	if p.ProductionDate != "" {
		if _, err := time.Parse(time.DateOnly, p.ProductionDate); err != nil {
			fe.Add(field+".production_date", "must be a date as YYYY-MM-DD")
		}
	}
	if p.ShelfLifeDays < 0 || p.ShelfLifeDays > 3650 {
		fe.Add(field+".shelf_life_days", "must be between 0 and 3650")
	}
	checkTemp(fe, field+".max_temp_c", p.MaxTempC)
}

func checkDocumentsAdded(ev *Event, fe *fault.Fields) {
	if len(ev.Attachments) == 0 {
		fe.Add("attachments", "is required: the documents to add to the lot (customs declaration, quarantine certificate)")
	}
}
