package ledger

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
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
)

// OrgRoles lists the roles an org may be registered with.
var OrgRoles = []string{
	RoleImporter, RoleColdStore, RoleSupervisionWarehouse, RoleCarrier, RoleLab,
	RoleDisinfector, RoleProcessor, RoleWholesaler, RoleRetailer, RoleCaterer, RoleRegulator,
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
	Seq     int64  `json:"seq"`
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
func checkText(fe *fieldErrors, field, s string, required bool, max int) {
	switch {
	case s == "" && required:
		fe.add(field, "is required")
	case !utf8.ValidString(s):
		fe.add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		fe.add(field, "is longer than %d characters", max)
	default:
		checkVisible(fe, field, s)
	}
}

func checkOrgRegistered(ev *Event, fe *fieldErrors) {
	switch {
	case ev.USCC == "":
		fe.add("uscc", "is required")
	case !USCCShapeOK(ev.USCC):
		fe.add("uscc", "is not a unified social credit code (18 characters of 0-9 and A-Y without I, O, S, V, Z; characters 3-8 the region)")
	case ValidUSCC(ev.USCC) && ev.USCCOverride != "":
		fe.add("uscc_override", "is only for codes whose check character fails; this one passes")
	case !ValidUSCC(ev.USCC) && ev.USCCOverride == "":
		want, _ := USCCCheckChar(ev.USCC[:17])
		fe.add("uscc", "check character is %c, want %c (GB 32100); register a legally issued code that fails the check with uscc_override giving the reason", ev.USCC[17], want)
	}
	checkText(fe, "uscc_override", ev.USCCOverride, false, 500)
	checkText(fe, "name", ev.Name, true, 200)
	if len(ev.Roles) == 0 {
		fe.add("roles", "is required")
	}
	for i, r := range ev.Roles {
		if !slices.Contains(OrgRoles, r) {
			fe.add(indexField("roles", i), "unknown role %q (one of %s)", r, strings.Join(OrgRoles, ", "))
		}
		if slices.Index(ev.Roles, r) != i {
			fe.add(indexField("roles", i), "repeats %q", r)
		}
	}
	if !ValidRegion(ev.Region) {
		fe.add("region", "is not a 6-digit GB/T 2260 region code")
	}
}

func checkSiteRegistered(ev *Event, fe *fieldErrors) {
	if !siteIDPattern.MatchString(ev.Site) {
		fe.add("id", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !USCCShapeOK(ev.Org) {
		fe.add("org", "is not a unified social credit code")
	}
	checkText(fe, "name", ev.Name, true, 200)
	if !slices.Contains(SiteTypes, ev.Type) {
		fe.add("type", "unknown site type %q (one of %s)", ev.Type, strings.Join(SiteTypes, ", "))
	}
	if !ValidRegion(ev.Region) {
		fe.add("region", "is not a 6-digit GB/T 2260 region code")
	}
	checkText(fe, "address", ev.Address, false, 300)
}

func checkKeyCreated(ev *Event, fe *fieldErrors) {
	if ev.Role != RoleAdmin && !slices.Contains(OrgRoles, ev.Role) {
		fe.add("role", "unknown role %q", ev.Role)
	}
	if ev.Role != RoleAdmin && ev.Org == "" {
		fe.add("org", "is required for a %s key", ev.Role)
	}
	if ev.Org != "" && !USCCShapeOK(ev.Org) {
		fe.add("org", "is not a unified social credit code")
	}
	if ev.Role == RoleRegulator && len(ev.Regions) == 0 {
		fe.add("regions", "a regulator key needs at least one region prefix")
	}
	if ev.Role != RoleRegulator && len(ev.Regions) > 0 {
		fe.add("regions", "only regulator keys are scoped to regions")
	}
	for i, r := range ev.Regions {
		if !ValidRegionPrefix(r) {
			fe.add(indexField("regions", i), "is not a region prefix (2, 4 or 6 digits of a GB/T 2260 code)")
		}
	}
}

func checkKeyRevoked(ev *Event, fe *fieldErrors) {
	if ev.Key == "" {
		fe.add("key", "is required")
	}
}

func prepareOrgRegistered(st *state, p Principal, ev *Record) error {
	if p.Role != RoleAdmin {
		return Errorf(Forbidden, "only an admin key registers orgs")
	}
	if _, err := st.org(ev.USCC); err == nil {
		return &Error{Kind: Conflict, Msg: "org " + ev.USCC + " is already registered",
			Fields: []FieldError{{Field: "uscc", Message: "is already registered"}}}
	} else if KindOf(err) != NotFound {
		return err
	}
	return nil
}

func prepareSiteRegistered(st *state, p Principal, ev *Record) error {
	if p.Role != RoleAdmin {
		return Errorf(Forbidden, "only an admin key registers sites")
	}
	if _, err := st.org(ev.Org); KindOf(err) == NotFound {
		return rejectf("org", "org %s is not registered", ev.Org)
	} else if err != nil {
		return err
	}
	if _, err := st.site(ev.Site); err == nil {
		return &Error{Kind: Conflict, Msg: "site " + ev.Site + " is already registered",
			Fields: []FieldError{{Field: "id", Message: "is already registered"}}}
	} else if KindOf(err) != NotFound {
		return err
	}
	if other, err := siteLookalike(st, ev.Site); err != nil {
		return err
	} else if other != "" {
		return &Error{Kind: Conflict, Msg: "site " + ev.Site + " reads like the registered site " + other,
			Fields: []FieldError{{Field: "id", Message: "reads like the registered site " + other + " (ids differing only in case or trailing punctuation are one id)"}}}
	}
	return nil
}

func prepareKeyCreated(st *state, p Principal, ev *Record) error {
	if p.Role != RoleAdmin {
		return Errorf(Forbidden, "only an admin key creates keys")
	}
	if ev.Org != "" {
		org, err := st.org(ev.Org)
		if KindOf(err) == NotFound {
			return rejectf("org", "org %s is not registered", ev.Org)
		} else if err != nil {
			return err
		}
		if ev.Role != RoleAdmin && !org.HasRole(ev.Role) {
			return rejectf("role", "org %s is not registered as %s", ev.Org, ev.Role)
		}
	}
	ev.Key = uuid.NewString()
	return nil
}

func prepareKeyRevoked(st *state, p Principal, ev *Record) error {
	if p.Role != RoleAdmin {
		return Errorf(Forbidden, "only an admin key revokes keys")
	}
	k, err := st.apiKey(ev.Key)
	if KindOf(err) == NotFound {
		return Errorf(NotFound, "no key %s", ev.Key)
	} else if err != nil {
		return err
	}
	if k.Revoked {
		return &Error{Kind: Conflict, Msg: "key " + ev.Key + " is already revoked"}
	}
	if k.ID == p.Key {
		return rejectf("key", "a key cannot revoke itself")
	}
	return nil
}

func applyOrgRegistered(st *state, rec *Record, fx *effects) error {
	o := &Org{
		USCC: rec.USCC, Name: rec.Name, Roles: rec.Roles, Region: rec.Region,
		USCCOverride: rec.USCCOverride, Seq: rec.Seq,
	}
	fx.registered = o
	return st.put(stateKey("org", rec.USCC), o)
}

func applySiteRegistered(st *state, rec *Record, fx *effects) error {
	s := &Site{
		ID: rec.Site, Org: rec.Org, Name: rec.Name, Type: rec.Type,
		Region: rec.Region, Address: rec.Address, Seq: rec.Seq,
	}
	fx.registered = s
	if err := st.put(stateKey("site", rec.Site), s); err != nil {
		return err
	}
	return st.tx.Set(indexKey("org-site", rec.Org, []byte(rec.Site)), nil)
}

func applyKeyCreated(st *state, rec *Record, fx *effects) error {
	k := &APIKey{
		ID: rec.Key, Org: rec.Org, Role: rec.Role, Regions: rec.Regions, Seq: rec.Seq,
	}
	fx.registered = k
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
