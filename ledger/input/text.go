// Package input checks what a request says before any state is read, and
// knows nothing of lots: personal data in free text that would go into the
// permanent log, characters that hide or change the direction of text,
// identifiers that read alike, and the cap and the rule for repeats of
// every list a request carries. Problems are fault field errors naming the
// field. It imports only coldtrace/ledger/fault and coldtrace/ledger/ident.
package input

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// Personal data where it does not belong is refused. Everything a record
// holds is kept for ever and shown to every key that may read the record,
// so a resident ID number or a mobile number in a name, an address, a
// reason or a product would put a person on the log where no erasure can
// reach them. People belong in an event's `people` list, which is kept off
// the log in an erasable annex (ledger/annex.go). The ledger calls
// NoPersonalData for every free-text field that goes into the log.

var (
	residentIDPattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{17}[0-9Xx])(?:[^0-9]|$)`)
	mobilePattern     = regexp.MustCompile(`(?:^|[^0-9])(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?:[^0-9]|$)`)
)

// fullWidthDigits folds full-width digits and X (as typed by Chinese input
// methods) to ASCII.
var fullWidthDigits = strings.NewReplacer("０", "0", "１", "1", "２", "2", "３", "3", "４", "4",
	"５", "5", "６", "6", "７", "7", "８", "8", "９", "9", "Ｘ", "X", "ｘ", "x", "－", "-", "　", " ")

// PersonalData names the kind of personal data s contains ("a resident ID
// number", "a mobile phone number"), or "" if none.
func PersonalData(s string) string {
	if !strings.ContainsAny(s, "0123456789０１２３４５６７８９") {
		return ""
	}
	s = fullWidthDigits.Replace(s)
	for _, m := range residentIDPattern.FindAllStringSubmatch(s, -1) {
		if ident.ValidResidentID(m[1]) {
			return "a resident ID number"
		}
	}
	for _, m := range mobilePattern.FindAllStringSubmatch(s, -1) {
		if ident.ValidMobile(m[1] + m[2] + m[3]) {
			return "a mobile phone number"
		}
	}
	return ""
}

// NoPersonalData refuses personal data in a free-text field that goes
// into the log.
func NoPersonalData(fe *fault.Fields, field, s string) {
	if what := PersonalData(s); what != "" {
		fe.Add(field, "contains %s: this field goes into the permanent log; people belong in `people` (kept off the log, erasable)", what)
	}
}

// Deceptive text and look-alike identifiers.
//
// Names and free text are shown to regulators and, on the consumer page, to
// shoppers: characters that change the direction of the text around them
// (bidi controls), that cannot be seen (zero-width and other format
// characters) or that are C1 controls let a name look like another one, so
// they are refused. Identifiers that differ only in case or trailing
// punctuation name the same thing to a person: registering the second is a
// conflict (the ledger compares with FoldID).

// InvisibleRune returns the first character of s that is a bidi control, an
// invisible or format character or a C0/C1 control, and whether there is
// one.
func InvisibleRune(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
			return r, true
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi
			return r, true
		case r == 0x00ad, r == 0x034f, r == 0x115f, r == 0x1160, r == 0x17b4, r == 0x17b5, r == 0x180e,
			r >= 0x200b && r <= 0x200d, r == 0x2060, r >= 0x2061 && r <= 0x2064, r == 0x3164, r == 0xfeff, r == 0xffa0,
			r >= 0xfe00 && r <= 0xfe0f, r >= 0xfff0 && r <= 0xfffb, r >= 0xe0000 && r <= 0xe0fff: // invisible
			return r, true
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
			return r, true
		}
	}
	return 0, false
}

// Visible adds a field error when s holds a character InvisibleRune
// finds; it reports whether s is clean.
func Visible(fe *fault.Fields, field, s string) bool {
	r, bad := InvisibleRune(s)
	if !bad {
		return true
	}
	if r < 0x20 || r == 0x7f {
		fe.Add(field, "contains control characters")
	} else {
		fe.Add(field, "contains an invisible or direction-changing character (%s)", fmt.Sprintf("U+%04X", r))
	}
	return false
}

// FoldID is an identifier as a person reads it: case folded and trailing
// punctuation dropped, so that "S-01", "s-01" and "S-01." are one id.
func FoldID(id string) string {
	return strings.ToLower(strings.TrimRight(id, ".-_ "))
}
