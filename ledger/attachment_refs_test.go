package ledger

import (
	"strings"
	"testing"

	"coldtrace/ledger/fault"
)

func TestCheckAttachmentRefs(t *testing.T) {
	good := strings.Repeat("ab", 32)
	for _, c := range []struct {
		refs   []AttachmentRef
		fields []string
	}{
		{nil, nil},
		{[]AttachmentRef{{good, DocTestReport}}, nil},
		{[]AttachmentRef{{good, DocTestReport}, {good, DocOther}}, nil},
		{[]AttachmentRef{{"", DocTestReport}}, []string{"attachments[0].sha256"}},
		{[]AttachmentRef{{good, DocTestReport}, {strings.ToUpper(good), "passport"}}, []string{"attachments[1].sha256", "attachments[1].type"}},
		{[]AttachmentRef{{good[:63], ""}}, []string{"attachments[0].sha256", "attachments[0].type"}},
		{[]AttachmentRef{{good, DocTestReport}, {good, DocTestReport}}, []string{"attachments[1]"}},
		{make([]AttachmentRef, maxAttachmentRefs+1), []string{"attachments"}},
	} {
		var fe fault.Fields
		checkAttachmentRefs(&fe, c.refs)
		var got []string
		for _, f := range fe {
			got = append(got, f.Field)
		}
		if strings.Join(got, " ") != strings.Join(c.fields, " ") {
			t.Errorf("checkAttachmentRefs(%v) named %v, want %v", c.refs, got, c.fields)
		}
	}
}
