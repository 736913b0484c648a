package epcis

import (
	"strings"
	"testing"
)

func TestCheckDigitKeys(t *testing.T) {
	for _, tc := range []struct {
		kind, key string
		check     func(string) error
		ok        bool
	}{
		{"GTIN-13", "4006381333931", ValidGTIN, true},
		{"GTIN-12", "036000291452", ValidGTIN, true},
		{"GTIN-8", "96385074", ValidGTIN, true},
		{"GTIN-14", "80614141123458", ValidGTIN, true},
		{"GTIN-14", "09520123456788", ValidGTIN, true},
		{"GTIN bad check", "4006381333932", ValidGTIN, false},
		{"GTIN length", "400638133393", ValidGTIN, false},
		{"GTIN letters", "40063813339a1", ValidGTIN, false},
		{"GLN", "0614141123452", ValidGLN, true},
		{"GLN bad check", "0614141123453", ValidGLN, false},
		{"GLN length", "061414112345", ValidGLN, false},
		{"SSCC", "106141412345678908", ValidSSCC, true},
		{"SSCC bad check", "106141412345678909", ValidSSCC, false},
	} {
		err := tc.check(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: err %v, want ok=%v", tc.kind, tc.key, err, tc.ok)
		}
	}
	if c, _ := CheckDigit("0952012345678"); c != '8' {
		t.Errorf("CheckDigit(0952012345678) = %c, want 8", c)
	}
}

func TestIdentifierForms(t *testing.T) {
	for _, tc := range []struct {
		epc, dl string
	}{
		{"urn:epc:id:sgtin:0614141.812345.6789", "https://id.gs1.org/01/80614141123458/21/6789"},
		{"urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"},
		{"urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"},
		{"urn:epc:id:sgln:0614141.12345.5678", "https://id.gs1.org/414/0614141123452/254/5678"},
		{"urn:epc:id:sgln:0614141.12345.0", "https://id.gs1.org/414/0614141123452"},
		{"urn:epc:id:pgln:0614141.12345", "https://id.gs1.org/417/0614141123452"},
		{"urn:epc:id:sgtin:0614141.812345.A%2FB", "https://id.gs1.org/01/80614141123458/21/A%2FB"},
		{"urn:epc:id:giai:0614141.12345400", "https://id.gs1.org/8004/061414112345400"},
		{"urn:epc:id:giai:0614141.A%2FB-7", "https://id.gs1.org/8004/0614141A%2FB-7"},
	} {
		id, err := ParseIdentifier(tc.epc)
		if err != nil {
			t.Fatalf("%s: %v", tc.epc, err)
		}
		if got := id.DigitalLink(); got != tc.dl {
			t.Errorf("%s -> %s, want %s", tc.epc, got, tc.dl)
		}
		back, err := ParseIdentifier(tc.dl)
		if err != nil {
			t.Fatalf("%s: %v", tc.dl, err)
		}
		back.PrefixLen = id.PrefixLen // the Digital Link does not carry it
		if got, err := back.EPCURI(); err != nil || got != tc.epc {
			t.Errorf("%s -> %s (%v), want %s", tc.dl, got, err, tc.epc)
		}
	}
}

func TestDigitalLinkVariants(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/01/09520123456788/21/ABC?17=201225": "https://id.gs1.org/01/09520123456788/21/ABC",
		"https://shop.example/a/b/gtin/9520123456788/lot/L1":     "https://id.gs1.org/01/09520123456788/10/L1",
		"https://id.gs1.org/01/09520123456788/10/L1/21/S1":       "https://id.gs1.org/01/09520123456788/21/S1",
		"https://id.gs1.org/01/09520123456788/22/V2/10/L1/21/S1": "https://id.gs1.org/01/09520123456788/21/S1",
		"http://id.gs1.org/414/0614141123452/254/5678":           "https://id.gs1.org/414/0614141123452/254/5678",
		"https://id.gs1.org/01/09520123456789/21/ABC":            "https://id.gs1.org/01/09520123456789/21/ABC", // bad check digit: kept as it is
		"https://coldtrace.example/t/CT7Q2":                      "https://coldtrace.example/t/CT7Q2",
		"urn:epc:id:giai:4000001.111":                            "urn:epc:id:giai:4000001.111",
		"urn:epcglobal:cbv:bt:0614141073467:1152":                "urn:epcglobal:cbv:bt:0614141073467:1152",
	} {
		if got := CanonicalEPC(in); got != want {
			t.Errorf("CanonicalEPC(%s) = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{
		"urn:epc:id:sgtin:0614141.81234.6789",     // 12 digits
		"urn:epc:id:sgtin:06141.8123456.6789",     // prefix too short
		"urn:epc:id:sscc:0614141.123456789",       // 16 digits
		"urn:epc:id:sgtin:0614141.812345.",        // no serial
		"urn:epc:id:sgtin:0614141.812345.a b",     // space
		"https://id.gs1.org/01/09520123456788/21", // no value
		"https://id.gs1.org/21/ABC",               // no primary key
		"https://id.gs1.org/414/0614141123452/21/S",
		"ftp://id.gs1.org/01/09520123456788",
	} {
		if id, err := ParseIdentifier(bad); err == nil {
			t.Errorf("ParseIdentifier(%s) = %+v, want an error", bad, id)
		}
	}
}

// TestGIAI: a GIAI is 1 to 30 characters of set 82 that start with a
// company prefix (4 digits at least); its Digital Link is /8004/{GIAI}.
func TestGIAI(t *testing.T) {
	for giai, ok := range map[string]bool{
		"061414112345400":                 true,
		"6901234TRUCK-07":                 true,
		"0614":                            true,
		"061":                             false, // shorter than a company prefix
		"06A4141":                         false, // no company prefix
		"0614141 7":                       false, // a space is not in set 82
		"0614141#7":                       false, // nor #
		"0614141234567890123456789012345": false, // 31 characters
		"":                                false,
	} {
		if err := ValidGIAI(giai); (err == nil) != ok {
			t.Errorf("ValidGIAI(%q) = %v, want ok=%v", giai, err, ok)
		}
	}
	for in, want := range map[string]string{
		"https://id.gs1.org/8004/6901234TRUCK-07":         "6901234TRUCK-07",
		"https://resolver.example/x/giai/6901234TRUCK-07": "6901234TRUCK-07",
		"urn:epc:id:giai:690123.4TRUCK-07":                "6901234TRUCK-07",
	} {
		id, err := ParseIdentifier(in)
		if err != nil || id.AI != "8004" || id.Key != want {
			t.Errorf("ParseIdentifier(%s) = %+v, %v; want GIAI %s", in, id, err, want)
		}
	}
	for _, bad := range []string{"https://id.gs1.org/8004/06A", "https://id.gs1.org/8004/0614/21/X", "urn:epc:id:giai:0614141", "urn:epc:id:giai:06141.1234"} {
		if id, err := ParseIdentifier(bad); err == nil {
			t.Errorf("ParseIdentifier(%s) = %+v, want an error", bad, id)
		}
	}
	// Queries and event hashes keep a GIAI as sent (CanonicalEPC).
	if got := CanonicalEPC("urn:epc:id:giai:4000001.111"); got != "urn:epc:id:giai:4000001.111" {
		t.Errorf("CanonicalEPC of a GIAI = %s", got)
	}
}

func TestLGTIN(t *testing.T) {
	id, err := LGTIN("4012345123456", "998877", 7)
	if err != nil {
		t.Fatal(err)
	}
	if got := id.DigitalLink(); got != "https://id.gs1.org/01/04012345123456/10/998877" {
		t.Errorf("DigitalLink = %s", got)
	}
	if got, _ := id.EPCURI(); got != "urn:epc:class:lgtin:4012345.012345.998877" {
		t.Errorf("EPCURI = %s", got)
	}
	id, err = LGTIN("9520123456788", "BATCH-7", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.EPCURI(); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("EPCURI without a prefix length: %v, want an error", err)
	}
	if _, err := LGTIN("9520123456789", "L", 7); err == nil {
		t.Error("LGTIN accepted a bad check digit")
	}
	if _, err := LGTIN("9520123456788", strings.Repeat("L", 21), 7); err == nil {
		t.Error("LGTIN accepted a 21-character lot")
	}
}

func TestVocabForms(t *testing.T) {
	for _, tc := range []struct {
		v           Vocab
		in, full, s string
	}{
		{BizStep, "shipping", "https://ref.gs1.org/cbv/BizStep-shipping", "shipping"},
		{BizStep, "urn:epcglobal:cbv:bizstep:receiving", "https://ref.gs1.org/cbv/BizStep-receiving", "receiving"},
		{BizStep, "https://ref.gs1.org/cbv/BizStep-retail_selling", "https://ref.gs1.org/cbv/BizStep-retail_selling", "retail_selling"},
		{BizStep, "https://coldtrace.example/voc/disinfecting", "https://coldtrace.example/voc/disinfecting", "https://coldtrace.example/voc/disinfecting"},
		{BizStep, "urn:epcglobal:cbv:bizstep:teleporting", "urn:epcglobal:cbv:bizstep:teleporting", "urn:epcglobal:cbv:bizstep:teleporting"},
		{Disposition, "non_conformant", "https://ref.gs1.org/cbv/Disp-non_conformant", "non_conformant"},
		{Disposition, "urn:epcglobal:cbv:disp:in_transit", "https://ref.gs1.org/cbv/Disp-in_transit", "in_transit"},
		{BizTransactionType, "po", "https://ref.gs1.org/cbv/BTT-po", "po"},
		{SourceDestType, "owning_party", "https://ref.gs1.org/cbv/SDT-owning_party", "owning_party"},
		{ErrorReason, "incorrect_data", "https://ref.gs1.org/cbv/ER-incorrect_data", "incorrect_data"},
	} {
		if got := tc.v.Expand(tc.in); got != tc.full {
			t.Errorf("Expand(%s) = %s, want %s", tc.in, got, tc.full)
		}
		if got := tc.v.Short(tc.in); got != tc.s {
			t.Errorf("Short(%s) = %s, want %s", tc.in, got, tc.s)
		}
	}
	if BizStep.IsWord("in_transit") || !Disposition.IsWord("in_transit") {
		t.Error("in_transit is a disposition, not a business step")
	}
}
