package epcis

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DigitalLinkHost is the canonical domain of GS1 Digital Link URIs.
const DigitalLinkHost = "https://id.gs1.org"

// CheckDigit returns the GS1 mod-10 check digit of the digits of a key
// without its check digit (GTIN, GLN, SSCC, GRAI...): weights 3 and 1 from
// the right.
func CheckDigit(body string) (byte, error) {
	sum := 0
	for i := 0; i < len(body); i++ {
		c := body[len(body)-1-i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q: not all digits", body)
		}
		d := int(c - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10), nil
}

func checkKey(kind, s string, lengths ...int) error {
	ok := false
	for _, n := range lengths {
		ok = ok || len(s) == n
	}
	if !ok {
		return fmt.Errorf("%s %q: must have %v digits", kind, s, lengths)
	}
	c, err := CheckDigit(s[:len(s)-1])
	if err != nil {
		return fmt.Errorf("%s %q: not all digits", kind, s)
	}
	if c != s[len(s)-1] {
		return fmt.Errorf("%s %q: check digit must be %c", kind, s, c)
	}
	return nil
}

// ValidGTIN checks a GTIN-8, -12, -13 or -14 and its check digit.
func ValidGTIN(s string) error { return checkKey("GTIN", s, 8, 12, 13, 14) }

// ValidGLN checks a 13-digit GLN and its check digit.
func ValidGLN(s string) error { return checkKey("GLN", s, 13) }

// ValidSSCC checks an 18-digit SSCC and its check digit.
func ValidSSCC(s string) error { return checkKey("SSCC", s, 18) }

// ValidGIAI checks a Global Individual Asset Identifier (AI 8004): 1 to 30
// characters of GS1's character set 82 that start with a GS1 company
// prefix. Without GS1's table of allocated prefixes only its shape is
// checked: at least 4 leading digits, the shortest company prefix there is
// (GS1 General Specifications; the Barcode Syntax Dictionary's gcppos1).
func ValidGIAI(s string) error {
	if err := checkValue("GIAI", s, 30); err != nil {
		return err
	}
	if len(s) < 4 || !digits(s[:4]) {
		return fmt.Errorf("GIAI %q: must start with a GS1 company prefix (4 to 12 digits)", s)
	}
	return nil
}

// GTIN14 pads a valid GTIN to 14 digits.
func GTIN14(s string) (string, error) {
	if err := ValidGTIN(s); err != nil {
		return "", err
	}
	return strings.Repeat("0", 14-len(s)) + s, nil
}

// gs1Char reports whether c may appear in a GS1 alphanumeric value (the
// 82 characters of GS1 General Specifications figure 7.11-1).
func gs1Char(c byte) bool {
	return c >= '!' && c <= 'z' && !strings.ContainsRune("#$@[\\]^`", rune(c))
}

// checkValue checks a serial or lot: 1 to max GS1 characters.
func checkValue(kind, v string, max int) error {
	if v == "" || len(v) > max {
		return fmt.Errorf("%s must have 1 to %d characters", kind, max)
	}
	for i := 0; i < len(v); i++ {
		if !gs1Char(v[i]) {
			return fmt.Errorf("%s %q: character %q is not allowed", kind, v, v[i])
		}
	}
	return nil
}

// epcEscape writes a value for an EPC URI: the characters the Tag Data
// Standard reserves are percent-encoded.
func epcEscape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if strings.IndexByte("\"%&/<>?#", v[i]) >= 0 {
			fmt.Fprintf(&b, "%%%02X", v[i])
		} else {
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// dlEscape writes a value for a GS1 Digital Link path segment.
func dlEscape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if strings.IndexByte("!\"%&()*+,/:<>?#", v[i]) >= 0 {
			fmt.Fprintf(&b, "%%%02X", v[i])
		} else {
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// An Identifier is a GS1 key with its qualifiers, as found in an EPC URI or
// a GS1 Digital Link: GTIN with a serial (SGTIN) or a lot (LGTIN), SSCC,
// GLN with an extension (SGLN), party GLN (PGLN), or an individual asset
// (GIAI).
type Identifier struct {
	AI     string // the primary application identifier: "01", "00", "414", "417" or "8004"
	Key    string // the key (with its check digit, but a GIAI has none); a GTIN has 14 digits
	Serial string // AI 21, for an SGTIN
	Lot    string // AI 10, for an LGTIN (an EPC class)
	Ext    string // AI 254, a GLN extension
	// PrefixLen is the length of the GS1 company prefix, which only the EPC
	// URI form carries (0 when the identifier came from a Digital Link).
	PrefixLen int
}

// DigitalLink returns the canonical GS1 Digital Link URI.
func (id Identifier) DigitalLink() string {
	s := DigitalLinkHost + "/" + id.AI + "/" + dlEscape(id.Key)
	switch {
	case id.Serial != "":
		s += "/21/" + dlEscape(id.Serial)
	case id.Lot != "":
		s += "/10/" + dlEscape(id.Lot)
	case id.Ext != "" && id.Ext != "0":
		s += "/254/" + dlEscape(id.Ext)
	}
	return s
}

// EPCURI returns the EPC URI (urn:epc:id:... or urn:epc:class:lgtin:...);
// it needs PrefixLen, which a Digital Link does not carry.
func (id Identifier) EPCURI() (string, error) {
	p := id.PrefixLen
	switch id.AI {
	case "01":
		if p < 6 || p > 12 {
			return "", errors.New("the GS1 company prefix length must be 6 to 12")
		}
		cp, ref := id.Key[1:1+p], id.Key[:1]+id.Key[1+p:13]
		if id.Serial != "" {
			return "urn:epc:id:sgtin:" + cp + "." + ref + "." + epcEscape(id.Serial), nil
		}
		if id.Lot != "" {
			return "urn:epc:class:lgtin:" + cp + "." + ref + "." + epcEscape(id.Lot), nil
		}
		return "urn:epc:idpat:sgtin:" + cp + "." + ref + ".*", nil
	case "00":
		if p < 6 || p > 12 {
			return "", errors.New("the GS1 company prefix length must be 6 to 12")
		}
		return "urn:epc:id:sscc:" + id.Key[1:1+p] + "." + id.Key[:1] + id.Key[1+p:17], nil
	case "414", "417":
		if p < 6 || p > 12 {
			return "", errors.New("the GS1 company prefix length must be 6 to 12")
		}
		if id.AI == "417" {
			return "urn:epc:id:pgln:" + id.Key[:p] + "." + id.Key[p:12], nil
		}
		ext := id.Ext
		if ext == "" {
			ext = "0"
		}
		return "urn:epc:id:sgln:" + id.Key[:p] + "." + id.Key[p:12] + "." + epcEscape(ext), nil
	case "8004":
		if p < 6 || p > 12 || p >= len(id.Key) || !digits(id.Key[:p]) {
			return "", errors.New("the GS1 company prefix length must be 6 to 12, shorter than the GIAI")
		}
		return "urn:epc:id:giai:" + id.Key[:p] + "." + epcEscape(id.Key[p:]), nil
	}
	return "", fmt.Errorf("no EPC URI for AI %q", id.AI)
}

// LGTIN returns the identifier of a batch (a GTIN and a lot); prefixLen is
// the length of the GS1 company prefix (6 to 12), or 0 if unknown (then
// only the Digital Link form is available).
func LGTIN(gtin, lot string, prefixLen int) (Identifier, error) {
	g, err := GTIN14(gtin)
	if err != nil {
		return Identifier{}, err
	}
	if err := checkValue("lot", lot, 20); err != nil {
		return Identifier{}, err
	}
	if prefixLen != 0 && (prefixLen < 6 || prefixLen > 12) {
		return Identifier{}, errors.New("the GS1 company prefix length must be 6 to 12")
	}
	return Identifier{AI: "01", Key: g, Lot: lot, PrefixLen: prefixLen}, nil
}

// ParseIdentifier reads an EPC URI (urn:epc:id:sgtin, sscc, sgln, pgln, giai;
// urn:epc:class:lgtin) or a GS1 Digital Link URI on any domain (its query
// string is ignored). Check digits are verified.
func ParseIdentifier(s string) (Identifier, error) {
	if strings.HasPrefix(s, "urn:epc:") {
		return parseEPCURI(s)
	}
	return parseDigitalLink(s)
}

func unescapeValue(kind, v string, max int) (string, error) {
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("%s %q: %v", kind, v, err)
	}
	return u, checkValue(kind, u, max)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func parseEPCURI(s string) (Identifier, error) {
	if rest, ok := strings.CutPrefix(s, "urn:epc:id:giai:"); ok {
		return parseGIAIURI(s, rest)
	}
	var scheme, rest string
	for _, p := range []string{"urn:epc:id:sgtin:", "urn:epc:class:lgtin:", "urn:epc:id:sscc:", "urn:epc:id:sgln:", "urn:epc:id:pgln:"} {
		if strings.HasPrefix(s, p) {
			scheme, rest = p, s[len(p):]
		}
	}
	if scheme == "" {
		return Identifier{}, fmt.Errorf("%q: not a supported EPC URI", s)
	}
	parts := strings.SplitN(rest, ".", 3)
	bad := func(why string) (Identifier, error) { return Identifier{}, fmt.Errorf("%q: %s", s, why) }
	cp := parts[0]
	if len(cp) < 6 || len(cp) > 12 || !digits(cp) || len(parts) < 2 {
		return bad("the company prefix must have 6 to 12 digits")
	}
	id := Identifier{PrefixLen: len(cp)}
	switch scheme {
	case "urn:epc:id:sgtin:", "urn:epc:class:lgtin:":
		if len(parts) != 3 || len(cp)+len(parts[1]) != 13 || !digits(parts[1]) {
			return bad("company prefix and item reference must have 13 digits")
		}
		body := parts[1][:1] + cp + parts[1][1:]
		c, _ := CheckDigit(body)
		id.AI, id.Key = "01", body+string(c)
		var err error
		if scheme == "urn:epc:id:sgtin:" {
			id.Serial, err = unescapeValue("serial", parts[2], 20)
		} else {
			id.Lot, err = unescapeValue("lot", parts[2], 20)
		}
		if err != nil {
			return Identifier{}, err
		}
	case "urn:epc:id:sscc:":
		if len(parts) != 2 || len(cp)+len(parts[1]) != 17 || !digits(parts[1]) {
			return bad("company prefix and serial reference must have 17 digits")
		}
		body := parts[1][:1] + cp + parts[1][1:]
		c, _ := CheckDigit(body)
		id.AI, id.Key = "00", body+string(c)
	case "urn:epc:id:sgln:", "urn:epc:id:pgln:":
		want := 3
		if scheme == "urn:epc:id:pgln:" {
			want = 2
		}
		if len(parts) != want || len(cp)+len(parts[1]) != 12 || (parts[1] != "" && !digits(parts[1])) {
			return bad("company prefix and location reference must have 12 digits")
		}
		c, _ := CheckDigit(cp + parts[1])
		id.Key = cp + parts[1] + string(c)
		id.AI = "417"
		if want == 3 {
			id.AI = "414"
			ext, err := unescapeValue("extension", parts[2], 20)
			if err != nil {
				return Identifier{}, err
			}
			if ext != "0" {
				id.Ext = ext
			}
		}
	}
	return id, nil
}

// parseGIAIURI reads the company prefix and asset reference of
// urn:epc:id:giai:{prefix}.{reference}.
func parseGIAIURI(s, rest string) (Identifier, error) {
	cp, ref, ok := strings.Cut(rest, ".")
	if !ok || len(cp) < 6 || len(cp) > 12 || !digits(cp) {
		return Identifier{}, fmt.Errorf("%q: the company prefix must have 6 to 12 digits", s)
	}
	ref, err := url.PathUnescape(ref)
	if err != nil || ref == "" {
		return Identifier{}, fmt.Errorf("%q: no individual asset reference", s)
	}
	if err := ValidGIAI(cp + ref); err != nil {
		return Identifier{}, err
	}
	return Identifier{AI: "8004", Key: cp + ref, PrefixLen: len(cp)}, nil
}

// dlAIs maps the alphanumeric short names of Digital Link to their AIs.
var dlAIs = map[string]string{"gtin": "01", "sscc": "00", "gln": "414", "party": "417", "giai": "8004", "ser": "21", "lot": "10"}

func parseDigitalLink(s string) (Identifier, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Identifier{}, fmt.Errorf("%q: not an EPC URI nor a GS1 Digital Link", s)
	}
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	// The primary key is the first pair whose AI is a primary key; any path
	// before it is the resolver's own.
	start := -1
	for i := 0; i+1 < len(segs); i++ {
		ai := segs[i]
		if a, ok := dlAIs[ai]; ok {
			ai = a
		}
		if ai == "01" || ai == "00" || ai == "414" || ai == "417" || ai == "8004" {
			start = i
			break
		}
	}
	if start < 0 || (len(segs)-start)%2 != 0 {
		return Identifier{}, fmt.Errorf("%q: no GS1 primary key (01, 00, 414, 417, 8004) in the path", s)
	}
	var id Identifier
	for i := start; i < len(segs); i += 2 {
		ai := segs[i]
		if a, ok := dlAIs[ai]; ok {
			ai = a
		}
		v, err := url.PathUnescape(segs[i+1])
		if err != nil {
			return Identifier{}, fmt.Errorf("%q: %v", s, err)
		}
		if i == start {
			id.AI = ai
			switch ai {
			case "01":
				id.Key, err = GTIN14(v)
			case "00":
				id.Key, err = v, ValidSSCC(v)
			case "8004":
				id.Key, err = v, ValidGIAI(v)
			default:
				id.Key, err = v, ValidGLN(v)
			}
			if err != nil {
				return Identifier{}, err
			}
			continue
		}
		switch {
		case ai == "21" && id.AI == "01":
			id.Serial, err = v, checkValue("serial", v, 20)
		case ai == "10" && id.AI == "01":
			id.Lot, err = v, checkValue("lot", v, 20)
		case ai == "22" && id.AI == "01":
			err = checkValue("CPV", v, 20)
		case ai == "254" && id.AI == "414":
			id.Ext, err = v, checkValue("extension", v, 20)
		default:
			err = fmt.Errorf("%q: key qualifier %s does not follow AI %s", s, ai, id.AI)
		}
		if err != nil {
			return Identifier{}, err
		}
	}
	if id.Serial != "" {
		id.Lot = "" // the serial is the finer level
	}
	return id, nil
}

// CanonicalEPC returns the canonical Digital Link of an EPC or EPC class
// given in either form, or the value as it is when it is neither a
// supported EPC URI nor a Digital Link of a supported key.
//
// A GIAI is kept as it is: event hashes (hash.go) and queries canonicalised
// the keys above before GIAI was parsed, and a hash recorded then must be
// found again.
func CanonicalEPC(s string) string {
	id, err := ParseIdentifier(s)
	if err != nil || id.AI == "8004" {
		return s
	}
	return id.DigitalLink()
}
