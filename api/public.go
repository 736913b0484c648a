package api

import (
	"bytes"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	qr "github.com/piglig/go-qr"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// The public consumer view: GET /t/{code} (an HTML page for a phone),
// /t/{code}.json (the same data) and /t/{code}.png (the QR code of the
// page's URL). Everything shown comes from ledger.PublicLot, which is where
// the rule "no prices, no people, no counterparties below the first station"
// is kept.

// ValidatePublicURL checks a public base URL (the origin printed in QR
// codes) and returns it without a trailing slash. It must be an absolute
// http or https URL of ASCII characters with no query or fragment.
func ValidatePublicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return "", fmt.Errorf("public URL %q: only printable ASCII is allowed (write an internationalised host name in punycode)", s)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("public URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("public URL %q: want http(s)://host[:port][/path]", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// pageHeaders are the security headers of every HTML page and its assets:
// no inline script or style, nothing from another origin, no framing, no
// referrer leaving the site.
func pageHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
		"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// publicRoutes registers /t/{code}, /t/{code}.json and /t/{code}.png.
func (s *server) publicRoutes(r *gin.Engine) {
	r.GET("/t/:file", s.anonLimit, s.publicLot)
}

// publicURL returns the consumer page URL of a trace code: under the
// configured public base URL; else under the request's Host if it is one of
// AllowedHosts; else under the address the connection came to (the
// server's own), never under an arbitrary Host a client sent.
func (s *server) publicURL(c *gin.Context, code string) (string, error) {
	base := s.opts.PublicURL
	if base == "" {
		scheme := "http"
		if c.Request.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + s.originHost(c)
	}
	return base + "/t/" + code, nil
}

// originHost is the host[:port] of consumer-page URLs when no public URL is
// set: an allowed Host, else the local address of the connection.
func (s *server) originHost(c *gin.Context) string {
	host := strings.ToLower(c.Request.Host)
	for _, h := range s.opts.AllowedHosts {
		if host != "" && strings.ToLower(h) == host {
			return host
		}
	}
	if a, ok := c.Request.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			ip := ap.Addr().Unmap()
			if ip.IsUnspecified() {
				ip = netip.MustParseAddr("127.0.0.1")
			}
			return netip.AddrPortFrom(ip, ap.Port()).String()
		}
		return a.String()
	}
	return "localhost"
}

func (s *server) publicLot(c *gin.Context) {
	file := c.Param("file")
	code, format := file, "html"
	if i := strings.LastIndexByte(file, '.'); i >= 0 {
		code, format = file[:i], file[i+1:]
	}
	switch format {
	case "json", "png":
		c.Header("Vary", "Host")
		c.Header("X-Content-Type-Options", "nosniff")
		c.Header("Access-Control-Allow-Origin", "*")
	case "html":
		s.publicPage(c, code)
		return
	default:
		fail(c, fault.Errorf(fault.NotFound, "no such path: /t/{trace code}, .json or .png"))
		return
	}
	pl, err := s.l.PublicLot(c.Request.Context(), code)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := s.publicURL(c, pl.TraceCode)
	if err != nil {
		fail(c, err)
		return
	}
	if format == "json" {
		c.Header("Cache-Control", "no-cache")
		c.Render(http.StatusOK, jsonRender{publicLotResponse{PublicLot: pl, URL: page}})
		return
	}
	png, err := qrPNG(page)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "image/png", png)
}

// publicLotResponse is /t/{code}.json: the public view and its page's URL.
type publicLotResponse struct {
	*ledger.PublicLot
	URL string `json:"url"`
}

// jsonRender writes compact JSON without HTML escaping.
type jsonRender struct{ v any }

func (r jsonRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return writeJSON(w, r.v)
}

func (jsonRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
}

// qrPNG renders the QR code of an ASCII URL: medium error correction, 8
// pixels a module and the standard quiet zone of 4 modules.
func qrPNG(text string) ([]byte, error) {
	code, err := qr.EncodeText(text, qr.Medium)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, "encoding the QR code", err)
	}
	var buf bytes.Buffer
	if err := code.WriteAsPNG(qr.NewQrCodeImgConfig(8, 4), &buf); err != nil {
		return nil, fault.Wrap(fault.Internal, "rendering the QR code", err)
	}
	return buf.Bytes(), nil
}

// ---- the HTML page ----

// A publicPageData is what public.html shows.
type publicPageData struct {
	Lang     string // the language shown first: "zh" or "en"
	Code     string
	Lot      *ledger.PublicLot
	Country  [2]string
	Category [2]string
	Declared string
	TestAt   string
	DisAt    string
	Error    *pageError
}

// A pageError is a problem told in words, in both languages.
type pageError struct {
	Status int
	Title  [2]string
	Body   [2]string
}

var publicTemplate = template.Must(template.New("public.html").Funcs(template.FuncMap{
	"tr": tr,
}).ParseFS(webFS, "web/public.html"))

// tr shows zh or en text, whichever language the page is in (public.css
// hides the other one).
func tr(zh, en string) template.HTML {
	return template.HTML(`<span lang="zh-CN" class="l-zh">` + template.HTMLEscapeString(zh) +
		`</span><span lang="en" class="l-en">` + template.HTMLEscapeString(en) + `</span>`)
}

var categoryNames = map[string][2]string{
	ledger.CategoryFrozen:       {"冷冻", "frozen"},
	ledger.CategoryChilled:      {"冷藏", "chilled"},
	ledger.CategoryNonColdChain: {"非冷链", "not cold-chain"},
}

var (
	regionsZH = display.Chinese.Regions()
	regionsEN = display.English.Regions()
)

// countryNames returns the Chinese and English names of an ISO 3166 code.
func countryNames(code string) [2]string {
	r, err := language.ParseRegion(code)
	if err != nil {
		return [2]string{code, code}
	}
	zh, en := regionsZH.Name(r), regionsEN.Name(r)
	if zh == "" {
		zh = code
	}
	if en == "" {
		en = code
	}
	return [2]string{zh, en}
}

// chinaDate shows a time as its date in China (chinaTime, UTC+8).
func chinaDate(t time.Time) string { return t.In(chinaTime).Format(time.DateOnly) }

func (s *server) publicPage(c *gin.Context, code string) {
	pageHeaders(c)
	c.Header("Cache-Control", "no-cache")
	d := publicPageData{Lang: "zh", Code: code}
	if c.Query("lang") == "en" {
		d.Lang = "en"
	}
	status := http.StatusOK
	pl, err := s.l.PublicLot(c.Request.Context(), code)
	switch {
	case err == nil:
		d.Lot, d.Code = pl, pl.TraceCode
		d.Country = countryNames(pl.Product.OriginCountry)
		d.Category = categoryNames[pl.Product.Category]
		d.Declared = chinaDate(pl.DeclaredAt)
		if pl.Test != nil {
			d.TestAt = chinaDate(pl.Test.At)
		}
		if pl.Disinfection != nil {
			d.DisAt = chinaDate(pl.Disinfection.At)
		}
	case fault.KindOf(err) == fault.NotFound:
		status = http.StatusNotFound
		if _, ok := ident.NormalizeTraceCode(code); !ok {
			d.Error = &pageError{Status: status,
				Title: [2]string{"这不是有效的追溯码", "This is not a valid trace code"},
				Body: [2]string{"追溯码由 12 位字母和数字组成（例如 K7Q2-9XMD-4HTE）。请核对包装或追溯单上的追溯码，或重新扫描二维码。",
					"A trace code has 12 letters and digits (like K7Q2-9XMD-4HTE). Check the code on the package or the trace slip, or scan the QR code again."}}
		} else {
			d.Error = &pageError{Status: status,
				Title: [2]string{"未找到该追溯码", "No goods have this trace code"},
				Body: [2]string{"该追溯码没有登记的货物。请核对追溯码；如怀疑追溯码是伪造的，请拨打 12315 向市场监管部门反映。",
					"No goods were registered under this code. Check the code; if you think it is forged, report it to the market regulator (call 12315)."}}
		}
	default:
		status = http.StatusServiceUnavailable
		if fault.KindOf(err) != fault.Unavailable {
			status = http.StatusInternalServerError
			s.log.ErrorContext(c.Request.Context(), "public page", "code", code, "err", err)
		}
		c.Header("Retry-After", "30")
		d.Error = &pageError{Status: status,
			Title: [2]string{"追溯服务暂时不可用", "The trace service is unavailable"},
			Body:  [2]string{"暂时无法查询该追溯码，请稍后再试。", "This trace code cannot be looked up right now. Please try again in a few minutes."}}
	}
	var buf bytes.Buffer
	if err := publicTemplate.Execute(&buf, d); err != nil {
		s.log.ErrorContext(c.Request.Context(), "rendering the public page", "err", err)
		fail(c, fault.Wrap(fault.Internal, "template", err))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
