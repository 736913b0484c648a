package ledger

import (
	"regexp"
	"strings"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// Personal data where it does not belong is refused. Everything a record
// holds is kept for ever and shown to every key that may read the record,
// so a resident ID number or a mobile number in a name, an address, a
// reason or a product would put a person on the log where no erasure can
// reach them. People belong in an event's `people` list, which is kept off
// the log in an erasable annex (annex.go). checkText calls this for every
// free-text field that goes into the log.

var (
	residentIDPattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{17}[0-9Xx])(?:[^0-9]|$)`)
	mobilePattern     = regexp.MustCompile(`(?:^|[^0-9])(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?:[^0-9]|$)`)
)

// fullWidthDigits folds full-width digits and X (as typed by Chinese input
// methods) to ASCII.
var fullWidthDigits = strings.NewReplacer("０", "0", "１", "1", "２", "2", "３", "3", "４", "4",
	"５", "5", "６", "6", "７", "7", "８", "8", "９", "9", "Ｘ", "X", "ｘ", "x", "－", "-", "　", " ")

// personalData names the kind of personal data s contains ("a resident ID
// number", "a mobile phone number"), or "" if none.
func personalData(s string) string {
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

// checkNoPersonalData refuses personal data in a free-text field that goes
// into the log.
func checkNoPersonalData(fe *fault.Fields, field, s string) {
	if what := personalData(s); what != "" {
		fe.Add(field, "contains %s: this field goes into the permanent log; people belong in `people` (kept off the log, erasable)", what)
	}
}
