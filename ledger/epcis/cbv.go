package epcis

import "strings"

// A Vocab is one of the CBV 2.0 standard vocabularies.
type Vocab int

// The CBV vocabularies whose terms an event may name with a bare word.
const (
	BizStep Vocab = iota
	Disposition
	BizTransactionType
	SourceDestType
	ErrorReason
)

// vocabs holds, per vocabulary, the GS1 Web URI prefix, the URN prefix
// (EPCIS 1.x and the XML binding), the bare words of CBV 2.0 and the
// schema's name of the field (used in problems).
var vocabs = [...]struct {
	web, urn string
	words    []string
}{
	BizStep: {"https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:", []string{
		"accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
		"creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying",
		"disassembling", "dispensing", "encoding", "entering_exiting", "holding", "inspecting",
		"installing", "killing", "loading", "other", "packing", "picking", "receiving", "removing",
		"repackaging", "repairing", "replacing", "reserving", "retail_selling", "sampling",
		"sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking", "storing",
		"transporting", "unloading", "unpacking", "void_shipping"}},
	Disposition: {"https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:", []string{
		"active", "available", "completeness_inferred", "completeness_verified", "conformant",
		"container_closed", "container_open", "damaged", "destroyed", "dispensed", "disposed",
		"encoded", "expired", "in_progress", "in_transit", "inactive", "mismatch_class",
		"mismatch_instance", "mismatch_quantity", "needs_replacement", "no_pedigree_match",
		"non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved",
		"retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen",
		"unavailable", "unknown"}},
	BizTransactionType: {"https://ref.gs1.org/cbv/BTT-", "urn:epcglobal:cbv:btt:", []string{
		"bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma",
		"testprd", "testres", "upevt"}},
	SourceDestType: {"https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:", []string{
		"location", "owning_party", "possessing_party"}},
	ErrorReason: {"https://ref.gs1.org/cbv/ER-", "urn:epcglobal:cbv:er:", []string{
		"did_not_occur", "incorrect_data"}},
}

// IsWord reports whether w is a bare CBV 2.0 word of the vocabulary.
func (v Vocab) IsWord(w string) bool {
	for _, x := range vocabs[v].words {
		if x == w {
			return true
		}
	}
	return false
}

// Expand returns the GS1 Web URI of a term given as a bare word, a Web URI
// or a CBV URN (both forms name the same term, as CBV 2.0 section 6 says);
// any other value (a user vocabulary URI) is returned as it is.
func (v Vocab) Expand(term string) string {
	d := vocabs[v]
	switch {
	case v.IsWord(term):
		return d.web + term
	case strings.HasPrefix(term, d.urn) && v.IsWord(term[len(d.urn):]):
		return d.web + term[len(d.urn):]
	}
	return term
}

// Short returns the bare word of a standard term given in any of its forms,
// or the value as it is when it is not a standard term.
func (v Vocab) Short(term string) string {
	d := vocabs[v]
	for _, p := range []string{d.web, d.urn} {
		if strings.HasPrefix(term, p) && v.IsWord(term[len(p):]) {
			return term[len(p):]
		}
	}
	return term
}
