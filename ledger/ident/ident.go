package ident

import (
	"crypto/rand"
	"strings"
)

const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY" // GB 32100: 31 characters, no I O Z S V

// USCCCheckChar returns the GB 32100 check character for the first 17
// characters of a unified social credit code, and false if any of them is
// outside the code's character set.
func USCCCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccCharset, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * w
		w = w * 3 % 31
	}
	return usccCharset[(31-sum%31)%31], true
}

// ValidUSCC reports whether code is a well-formed unified social credit code
// (GB 32100): 18 characters of the code's set, positions 3-8 digits (the
// region), and the right check character.
func ValidUSCC(code string) bool {
	if !USCCShapeOK(code) {
		return false
	}
	c, ok := USCCCheckChar(code[:17])
	return ok && c == code[17]
}

// USCCShapeOK reports whether code has the shape of a unified social credit
// code, whatever its check character: the test an admin override still needs
// to pass.
func USCCShapeOK(code string) bool {
	if len(code) != 18 {
		return false
	}
	for i := 0; i < 18; i++ {
		if strings.IndexByte(usccCharset, code[i]) < 0 {
			return false
		}
	}
	return allDigits(code[2:8])
}

// provinces are the first two digits of GB/T 2260 region codes.
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true,
}

// ValidRegion reports whether code is a 6-digit GB/T 2260 administrative
// region code with a known province prefix.
func ValidRegion(code string) bool {
	return len(code) == 6 && allDigits(code) && provinces[code[:2]]
}

// ValidRegionPrefix reports whether p is a region prefix a regulator key may
// be scoped to: a province (2 digits), a city (4) or a county (6).
func ValidRegionPrefix(p string) bool {
	switch len(p) {
	case 2, 4, 6:
		return allDigits(p) && provinces[p[:2]]
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ISO6346CheckDigit returns the ISO 6346 check digit of the first ten
// characters of a container number (owner code, category, serial), and false
// if they are not 3 letters, a category letter (U, J or Z) and 6 digits.
func ISO6346CheckDigit(first10 string) (byte, bool) {
	if len(first10) != 10 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := first10[i]
		var v int
		switch {
		case i < 4 && c >= 'A' && c <= 'Z':
			if i == 3 && c != 'U' && c != 'J' && c != 'Z' {
				return 0, false
			}
			// A=10 upwards, skipping multiples of 11.
			v = int(c-'A') + 10
			v += (v - 1) / 10 // 11, 22, 33 are skipped
		case i >= 4 && c >= '0' && c <= '9':
			v = int(c - '0')
		default:
			return 0, false
		}
		sum += v << i
	}
	return byte('0' + sum%11%10), true
}

// ValidContainer reports whether n is an ISO 6346 container number with the
// right check digit, such as CSQU3054383.
func ValidContainer(n string) bool {
	if len(n) != 11 {
		return false
	}
	d, ok := ISO6346CheckDigit(n[:10])
	return ok && n[10] == d
}

// ValidDeclarationNo reports whether n has the shape of a China customs
// declaration number: 18 digits.
func ValidDeclarationNo(n string) bool { return len(n) == 18 && allDigits(n) }

// ValidHSCode reports whether c is a Harmonized System code of 4 to 10 digits
// whose chapter (first two digits) is 01-97.
func ValidHSCode(c string) bool {
	if len(c) < 4 || len(c) > 10 || !allDigits(c) {
		return false
	}
	ch := int(c[0]-'0')*10 + int(c[1]-'0')
	return ch >= 1 && ch <= 97 && ch != 77
}

// plateProvinces are the one-character province abbreviations that begin a
// Chinese vehicle plate (GA 36).
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// ValidPlate reports whether p is a Chinese vehicle plate: a province
// character, an issuing-office letter, then 5 characters (6 for new-energy
// vehicles) of letters (no I or O) and digits, the last of which may be 挂
// (trailer).
func ValidPlate(p string) bool {
	r := []rune(p)
	if len(r) != 7 && len(r) != 8 {
		return false
	}
	if !strings.ContainsRune(plateProvinces, r[0]) || !plateLetter(r[1]) {
		return false
	}
	for i, c := range r[2:] {
		last := i == len(r)-3
		switch {
		case plateLetter(c) || (c >= '0' && c <= '9'):
		case last && c == '挂' && len(r) == 7:
		default:
			return false
		}
	}
	return true
}

func plateLetter(c rune) bool { return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' }

// iso3166 lists the ISO 3166-1 alpha-2 country codes.
const iso3166 = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
	"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
	"UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// ValidCountry reports whether c is an ISO 3166-1 alpha-2 country code.
func ValidCountry(c string) bool {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return false
	}
	return strings.Contains(iso3166, c)
}

// Trace codes: 12 characters of Crockford's base 32 (no I, L, O, U), the
// last a Luhn mod 32 check character, shown in groups of four
// (K7Q2-9XMD-4HTE). They are short enough to read aloud and type, and a
// single mistyped character or swapped neighbour pair is caught.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// luhn32 returns the Luhn mod 32 check character of s (Crockford digits).
func luhn32(s string) byte {
	factor, sum := 2, 0
	for i := len(s) - 1; i >= 0; i-- {
		v := strings.IndexByte(crockford, s[i]) * factor
		sum += v/32 + v%32
		factor = 3 - factor
	}
	return crockford[(32-sum%32)%32]
}

// NewTraceCode returns a random trace code.
func NewTraceCode() string {
	var b [11]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = crockford[b[i]%32]
	}
	s := string(b[:]) + string(luhn32(string(b[:])))
	return s[:4] + "-" + s[4:8] + "-" + s[8:]
}

// NormalizeTraceCode returns the canonical 12-character form of a trace code
// as a person may type it (any case, with or without hyphens or spaces, I and
// L for 1, O for 0), and false if it is not a valid code.
func NormalizeTraceCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'I' || r == 'L':
			r = '1'
		case r == 'O':
			r = '0'
		}
		if r > 127 || strings.IndexByte(crockford, byte(r)) < 0 {
			return "", false
		}
		b.WriteRune(r)
	}
	c := b.String()
	if len(c) != 12 || luhn32(c[:11]) != c[11] {
		return "", false
	}
	return c, true
}

// FormatTraceCode returns the display form (groups of four) of a canonical
// code.
func FormatTraceCode(c string) string { return c[:4] + "-" + c[4:8] + "-" + c[8:] }
