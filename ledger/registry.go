package ledger

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
	"coldtrace/ledger/input"
)

// Roles an org may have (DOMAIN.md), plus admin, which only keys have.
const (
	RoleAdmin                = "admin"
	RoleImporter             = "importer"
	RoleColdStore            = "cold_store"
	RoleSupervisionWarehouse = "supervision_warehouse"
	RoleCarrier              = "carrier"
	RoleLab                  = "lab"
	RoleDisinfector          = "disinfector"
	RoleProcessor            = "processor"
	RoleWholesaler           = "wholesaler"
	RoleRetailer             = "retailer"
	RoleCaterer              = "caterer"
	RoleRegulator            = "regulator"
	RoleAuditor              = "auditor" // reads everything in every region, records nothing
)

// OrgRoles lists the roles an org may be registered with.
var OrgRoles = []string{
	RoleImporter, RoleColdStore, RoleSupervisionWarehouse, RoleCarrier, RoleLab,
	RoleDisinfector, RoleProcessor, RoleWholesaler, RoleRetailer, RoleCaterer, RoleRegulator, RoleAuditor,
}

// SiteTypes lists the kinds of physical place a site may be.
var SiteTypes = []string{
	"port_yard", "cold_store", "supervision_warehouse", "warehouse", "market",
	"store", "plant", "canteen", "restaurant", "lab", "other",
}

// A Principal is the holder of an API key, as the ledger authorises it.
type Principal struct {
	Key     string   `json:"key"`
	Org     string   `json:"org"`
	Role    string   `json:"role"`
	Regions []string `json:"regions,omitempty"`
}

// readsAll reports whether p reads every record, lot and document in every
// region: admins and auditors.
func (p Principal) readsAll() bool { return p.Role == RoleAdmin || p.Role == RoleAuditor }

// An Org is a registered legal entity.
type Org struct {
	USCC         string   `json:"uscc"`
	Name         string   `json:"name"`
	Roles        []string `json:"roles"`
	Region       string   `json:"region"`
	USCCOverride string   `json:"uscc_override,omitempty"`
	Seq          int64    `json:"seq"`
}

// HasRole reports whether the org was registered with role r.
func (o *Org) HasRole(r string) bool { return slices.Contains(o.Roles, r) }

// A Site is a registered physical place of an org.
type Site struct {
	ID      string `json:"id"`
	Org     string `json:"org"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Region  string `json:"region"`
	Address string `json:"address,omitempty"`
	// GLN is the site's GS1 Global Location Number, if registered with one.
	GLN string `json:"gln,omitempty"`
	Seq int64  `json:"seq"`
}

// An APIKey is a registered key, without its secret. Only the secret's
// SHA-256 is stored, outside the public log (a/keyhash/), so that a weak
// bootstrap key cannot be guessed offline from the published records.
type APIKey struct {
	ID         string   `json:"id"`
	Org        string   `json:"org,omitempty"`
	Role       string   `json:"role"`
	Regions    []string `json:"regions,omitempty"`
	Revoked    bool     `json:"revoked"`
	Seq        int64    `json:"seq"`
	RevokedSeq int64    `json:"revoked_seq,omitempty"`
	// CreatedBy is the id of the key that created this one ("bootstrap"
	// for the first admin key). It is read from the key's record, never
	// stored with the key.
	CreatedBy string `json:"created_by,omitempty"`
}

// NewKeySecret returns a new random API key secret and the hex SHA-256 under
// which the ledger stores it.
func NewKeySecret() (secret, sha string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = "ctk_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return secret, secretHash(secret)
}

func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

var (
	siteIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// checkText validates a free-text field: required or not, valid UTF-8, at
// most max characters, no control characters.
func checkText(fe *fault.Fields, field, s string, required bool, max int) {
	if checkTextShape(fe, field, s, required, max) {
		input.NoPersonalData(fe, field, s)
	}
}

// checkTextShape checks a free-text field's presence, encoding, length and
// characters, and reports whether it passed.
func checkTextShape(fe *fault.Fields, field, s string, required bool, max int) bool {
	n := len(*fe)
	switch {
	case s == "" && required:
		fe.Add(field, "is required")
	case !utf8.ValidString(s):
		fe.Add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		fe.Add(field, "is longer than %d characters", max)
	default:
		input.Visible(fe, field, s)
	}
	return len(*fe) == n
}

func checkOrgRegistered(ev *Event, fe *fault.Fields) {
	switch {
	case ev.USCC == "":
		fe.Add("uscc", "is required")
	case !ident.USCCShapeOK(ev.USCC):
		fe.Add("uscc", "is not a unified social credit code (18 characters of 0-9 and A-Y without I, O, S, V, Z; characters 3-8 the region)")
	case ident.ValidUSCC(ev.USCC) && ev.USCCOverride != "":
		fe.Add("uscc_override", "is only for codes whose check character fails; this one passes")
	case !ident.ValidUSCC(ev.USCC) && ev.USCCOverride == "":
		want, _ := ident.USCCCheckChar(ev.USCC[:17])
		fe.Add("uscc", "check character is %c, want %c (GB 32100); register a legally issued code that fails the check with uscc_override giving the reason", ev.USCC[17], want)
	}
	checkText(fe, "uscc_override", ev.USCCOverride, false, 500)
	checkText(fe, "name", ev.Name, true, 200)
	if len(ev.Roles) == 0 {
		fe.Add("roles", "is required")
	}
	checkSet(fe, "roles", ev.Roles, OrgRoles, false)
	if !ident.ValidRegion(ev.Region) {
		fe.Add("region", "is not a 6-digit GB/T 2260 region code")
	}
}

func checkSiteRegistered(ev *Event, fe *fault.Fields) {
	if !siteIDPattern.MatchString(ev.Site) {
		fe.Add("id", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !ident.USCCShapeOK(ev.Org) {
		fe.Add("org", "is not a unified social credit code")
	}
	checkText(fe, "name", ev.Name, true, 200)
	if !slices.Contains(SiteTypes, ev.Type) {
		fe.Add("type", "unknown site type %q (one of %s)", ev.Type, strings.Join(SiteTypes, ", "))
	}
	if !ident.ValidRegion(ev.Region) {
		fe.Add("region", "is not a 6-digit GB/T 2260 region code")
	}
	checkText(fe, "address", ev.Address, false, 300)
	if ev.GLN != "" {
		if err := epcis.ValidGLN(ev.GLN); err != nil {
			fe.Add("gln", "%v", err)
		}
	}
}

func checkKeyCreated(ev *Event, fe *fault.Fields) {
	if ev.Role != RoleAdmin && !slices.Contains(OrgRoles, ev.Role) {
		fe.Add("role", "unknown role %q", ev.Role)
	}
	if ev.Role != RoleAdmin && ev.Org == "" {
		fe.Add("org", "is required for a %s key", ev.Role)
	}
	if ev.Org != "" && !ident.USCCShapeOK(ev.Org) {
		fe.Add("org", "is not a unified social credit code")
	}
	if ev.Role == RoleRegulator && len(ev.Regions) == 0 {
		fe.Add("regions", "a regulator key needs at least one region prefix")
	}
	if ev.Role != RoleRegulator && len(ev.Regions) > 0 {
		fe.Add("regions", "only regulator keys are scoped to regions")
	}
	for i, r := range ev.Regions {
		if !ident.ValidRegionPrefix(r) {
			fe.Add(indexField("regions", i), "is not a region prefix (2, 4 or 6 digits of a GB/T 2260 code)")
		}
	}
}

func checkKeyRevoked(ev *Event, fe *fault.Fields) {
	if ev.Key == "" {
		fe.Add("key", "is required")
	}
}

func prepareOrgRegistered(st *state, p Principal, ev *Record) error {
	if p.Role != RoleAdmin {
		return fault.Errorf(fault.Forbidden, "only an admin key registers orgs")
	}
	if _, err := st.org(ev.USCC); err == nil {
		return &fault.Error{Kind: fault.Conflict, Msg: "org " + ev.USCC + " is already registered",
			Fields: []fault.FieldError{{Field: "uscc", Message: "is already registered"}}}
	} else if fault.KindOf(err) != fault.NotFound {
		return err
	}
	return nil
}

func prepareSiteRegistered(st *state, p Principal, ev *Record) error {
	if p.Role != RoleAdmin {
		return fault.Errorf(fault.Forbidden, "only an admin key registers sites")
	}
	if _, err := st.org(ev.Org); fault.KindOf(err) == fault.NotFound {
		return fault.Rejectf("org", "org %s is not registered", ev.Org)
	} else if err != nil {
		return err
	}
	if _, err := st.site(ev.Site); err == nil {
		return &fault.Error{Kind: fault.Conflict, Msg: "site " + ev.Site + " is already registered",
			Fields: []fault.FieldError{{Field: "id", Message: "is already registered"}}}
	} else if fault.KindOf(err) != fault.NotFound {
		return err
	}
	if other, err := siteLookalike(st, ev.Site); err != nil {
		return err
	} else if other != "" {
		return &fault.Error{Kind: fault.Conflict, Msg: "site " + ev.Site + " reads like the registered site " + other,
			Fields: []fault.FieldError{{Field: "id", Message: "reads like the registered site " + other + " (ids differing only in case or trailing punctuation are one id)"}}}
	}
	return nil
}

func prepareKeyCreated(st *state, p Principal, ev *Record) error {
	switch p.Role {
	case RoleAdmin:
	case RoleRegulator:
		if err := delegable(st, p, ev); err != nil {
			return err
		}
	default:
		return fault.Errorf(fault.Forbidden, "only an admin key, or a regulator key for its own regions, creates keys")
	}
	if ev.Org != "" {
		org, err := st.org(ev.Org)
		if fault.KindOf(err) == fault.NotFound {
			return fault.Rejectf("org", "org %s is not registered", ev.Org)
		} else if err != nil {
			return err
		}
		if ev.Role != RoleAdmin && !org.HasRole(ev.Role) {
			return fault.Rejectf("role", "org %s is not registered as %s", ev.Org, ev.Role)
		}
	}
	ev.Key = uuid.NewString()
	return nil
}

func prepareKeyRevoked(st *state, p Principal, ev *Record) error {
	if p.Role != RoleAdmin && p.Role != RoleRegulator {
		return fault.Errorf(fault.Forbidden, "only an admin key, or a regulator key for the keys it created, revokes keys")
	}
	k, err := st.apiKey(ev.Key)
	if fault.KindOf(err) == fault.NotFound {
		return fault.Errorf(fault.NotFound, "no key %s", ev.Key)
	} else if err != nil {
		return err
	}
	if p.Role == RoleRegulator {
		under, err := createdUnder(st, k, p.Key)
		if err != nil {
			return err
		}
		if !under {
			return fault.Errorf(fault.Forbidden, "key %s was not created by this key or by a key it created; a regulator revokes only the keys under it", k.ID)
		}
	}
	if k.Revoked {
		return &fault.Error{Kind: fault.Conflict, Msg: "key " + ev.Key + " is already revoked"}
	}
	if k.ID == p.Key {
		return fault.Rejectf("key", "a key cannot revoke itself")
	}
	return nil
}

// delegable refuses a key that regulator p may not create: only regulator
// keys, of a regulator org inside p's regions, for regions inside p's own
// (a province for its cities and counties, a city for its counties).
func delegable(st *state, p Principal, ev *Record) error {
	if ev.Role != RoleRegulator {
		return &fault.Error{Kind: fault.Forbidden, Msg: "a regulator key creates only regulator keys",
			Fields: []fault.FieldError{{Field: "role", Message: "must be regulator for a key a regulator creates"}}}
	}
	for i, r := range ev.Regions {
		if !covers(p.Regions, r) {
			return &fault.Error{Kind: fault.Forbidden, Msg: fmt.Sprintf("region %s is outside this key's regions (%s)", r, strings.Join(p.Regions, ", ")),
				Fields: []fault.FieldError{{Field: indexField("regions", i), Message: "lies outside the creating key's regions"}}}
		}
	}
	org, err := st.org(ev.Org)
	if fault.KindOf(err) == fault.NotFound {
		return fault.Rejectf("org", "org %s is not registered", ev.Org)
	} else if err != nil {
		return err
	}
	if !covers(p.Regions, org.Region) {
		return &fault.Error{Kind: fault.Forbidden, Msg: fmt.Sprintf("org %s is in region %s, outside this key's regions (%s)", org.USCC, org.Region, strings.Join(p.Regions, ", ")),
			Fields: []fault.FieldError{{Field: "org", Message: "lies outside the creating key's regions"}}}
	}
	return nil
}

// keyCreator returns the id of the key that created k, from k's record.
func keyCreator(st *state, k *APIKey) (string, error) {
	rec, err := st.record(k.Seq)
	if err != nil {
		return "", err
	}
	return rec.Actor.Key, nil
}

// createdUnder reports whether k was created by key id, directly or by a
// key that id created.
func createdUnder(st *state, k *APIKey, id string) (bool, error) {
	for depth := 0; depth < 64; depth++ {
		creator, err := keyCreator(st, k)
		if err != nil {
			return false, err
		}
		if creator == id {
			return true, nil
		}
		if k, err = st.apiKey(creator); fault.KindOf(err) == fault.NotFound {
			return false, nil // bootstrap, or a key of an older ledger
		} else if err != nil {
			return false, err
		}
	}
	return false, nil
}

func applyOrgRegistered(st *state, rec *Record, fx *effects) error {
	o := &Org{
		USCC: rec.USCC, Name: rec.Name, Roles: rec.Roles, Region: rec.Region,
		USCCOverride: rec.USCCOverride, Seq: rec.Seq,
	}
	fx.registered = o
	return st.put(tabOrg.key(rec.USCC), o)
}

func applySiteRegistered(st *state, rec *Record, fx *effects) error {
	s := &Site{
		ID: rec.Site, Org: rec.Org, Name: rec.Name, Type: rec.Type,
		Region: rec.Region, Address: rec.Address, GLN: rec.GLN, Seq: rec.Seq,
	}
	fx.registered = s
	if err := st.put(tabSite.key(rec.Site), s); err != nil {
		return err
	}
	return st.tx.Set(idxOrgSite.key(rec.Org, []byte(rec.Site)), nil)
}

func applyKeyCreated(st *state, rec *Record, fx *effects) error {
	k := &APIKey{
		ID: rec.Key, Org: rec.Org, Role: rec.Role, Regions: rec.Regions, Seq: rec.Seq,
	}
	answer := *k
	answer.CreatedBy = rec.Actor.Key
	fx.registered = &answer
	if err := st.setPolicy(rec.Policy); err != nil { // the bootstrap record's
		return err
	}
	return st.putKey(k)
}

func applyKeyRevoked(st *state, rec *Record, _ *effects) error {
	k, err := st.apiKey(rec.Key)
	if err != nil {
		return err
	}
	k.Revoked, k.RevokedSeq = true, rec.Seq
	return st.putKey(k)
}

// siteLookalike returns the id of a registered site that reads like id (the
// same after input.FoldID) but is not it, or "".
func siteLookalike(st *state, id string) (string, error) {
	want := input.FoldID(id)
	prefix := tabSite.all()
	var found string
	err := st.tx.Scan(prefix, nil, false, func(k, _ []byte) error {
		other := string(k[len(prefix):])
		if other != id && input.FoldID(other) == want {
			found = other
			return fault.ErrStop
		}
		return nil
	})
	return found, err
}
