package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"coldtrace/api/report"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// source is where a query is answered: a stopped server's data directory,
// opened offline with full access, or a running server with an API key.
type source struct {
	Data   string `default:"./data" env:"COLDTRACE_DATA" help:"Data directory to read offline (the server must be stopped)."`
	Server string `env:"COLDTRACE_SERVER" help:"Ask a running server instead (http://127.0.0.1:8080)."`
	Key    string `env:"COLDTRACE_KEY" help:"API key for --server."`
}

// offline opens the data directory for reading and calls fn with the
// ledger and a principal that sees everything.
func (s source) offline(fn func(l *ledger.Ledger, p ledger.Principal) error) error {
	d := dataDir{Data: s.Data}
	key, err := readKey(d.keyPath())
	if err != nil {
		return err
	}
	if _, err := os.Stat(d.dbPath()); err != nil {
		return fmt.Errorf("no ledger in %s: %w", s.Data, err)
	}
	store, err := badgerkv.Open(d.dbPath(), badgerkv.Options{})
	if err != nil {
		return fmt.Errorf("%w (is a server running on %s? stop it, or use --server)", err, s.Data)
	}
	defer store.Close()
	l, err := ledger.New(store, key, ledger.Options{SweepEvery: -1})
	if err != nil {
		return err
	}
	defer l.Close()
	return fn(l, ledger.Principal{Role: ledger.RoleAdmin, Key: "offline"})
}

// get fetches path from the server into w, turning a problem document into
// an error.
func (s source) get(ctx context.Context, path string, w io.Writer) error {
	if s.Key == "" {
		return errors.New("--server needs --key (or COLDTRACE_KEY)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(s.Server, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	c := &http.Client{Timeout: 10 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var p struct{ Title, Detail, Code string }
		body, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(body, &p) == nil && p.Code != "" {
			return fmt.Errorf("%s: %s (%s)", resp.Status, p.Detail, p.Code)
		}
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

type traceCmd struct {
	source
	Ref       string `arg:"" help:"Trace code (as printed, any case) or lot id."`
	Direction string `default:"both" enum:"up,down,both" help:"up: to the root batch; down: every descendant; both."`
	JSON      bool   `help:"Print the answer as JSON (as GET /v1/lots/{ref}/trace)."`
}

func (c *traceCmd) Run(ctx context.Context) error {
	var t *ledger.Trace
	if c.Server != "" {
		var buf bytes.Buffer
		if err := c.get(ctx, "/v1/lots/"+url.PathEscape(c.Ref)+"/trace?direction="+c.Direction, &buf); err != nil {
			return err
		}
		t = new(ledger.Trace)
		if err := json.Unmarshal(buf.Bytes(), t); err != nil {
			return err
		}
	} else if err := c.offline(func(l *ledger.Ledger, p ledger.Principal) (err error) {
		t, err = l.Trace(ctx, p, c.Ref, c.Direction, 0)
		return err
	}); err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
	printTrace(os.Stdout, t)
	return nil
}

// printTrace writes a trace as an indented tree: ancestors above the lot
// asked about, descendants below, one line per lot with its custody.
func printTrace(w io.Writer, t *ledger.Trace) {
	byID := map[string]ledger.TraceLot{}
	for _, l := range t.Lots {
		byID[l.ID] = l
	}
	edgeTo := map[string]ledger.TraceEdge{}
	for _, e := range t.Edges {
		edgeTo[e.From+">"+e.To] = e
	}
	fmt.Fprintf(w, "trace %s (%s), root batch %s: %d lots, %d edges", t.TraceCode, t.Direction, t.Root, len(t.Lots), len(t.Edges))
	if t.Truncated {
		fmt.Fprint(w, ", TRUNCATED")
	}
	if t.Hidden > 0 {
		fmt.Fprintf(w, ", %d hidden from this key", t.Hidden)
	}
	fmt.Fprintln(w)
	line := func(l ledger.TraceLot, indent string, via string) {
		if l.Hidden {
			fmt.Fprintf(w, "%s%s%s (not visible to this key)\n", indent, via, l.TraceCode)
			return
		}
		where := l.Site
		if where == "" && l.Transit != nil {
			where = "in transit to " + l.Transit.ToSite
		}
		fmt.Fprintf(w, "%s%s%s  %s  declared %s, on hand %s, in transit %s, sold %s  at %s (%s)", indent, via, l.TraceCode, l.Product.Name,
			kg(l.Quantity.Declared), kg(l.Quantity.OnHand), kg(l.Quantity.InTransit), kg(l.Quantity.Sold), where, l.Holder)
		if l.Status != nil && l.Status.Sealed {
			fmt.Fprint(w, "  SEALED")
		}
		fmt.Fprintln(w)
		for _, s := range l.Custody {
			to := "now"
			if s.To != nil {
				to = s.To.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s      stay %s %s (%s) %s .. %s\n", indent, s.Site, s.Org, s.Region, s.From.Format(time.RFC3339), to)
		}
		for _, v := range l.Vehicles {
			to := "on the way"
			if v.To != nil {
				to = v.To.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s      vehicle %s %s .. %s\n", indent, v.Plate, v.From.Format(time.RFC3339), to)
		}
	}
	// Ancestors, farthest first.
	up := slices.DeleteFunc(slices.Clone(t.Lots), func(l ledger.TraceLot) bool { return l.Depth >= 0 })
	slices.SortStableFunc(up, func(a, b ledger.TraceLot) int { return cmp.Compare(a.Depth, b.Depth) })
	for _, l := range up {
		line(l, "", fmt.Sprintf("[up %d] ", -l.Depth))
	}
	start := byID[t.Lot]
	line(start, "", "* ")
	seen := map[string]bool{t.Lot: true}
	var down func(id, indent string)
	down = func(id, indent string) {
		for _, k := range byID[id].Children {
			e, ok := edgeTo[id+">"+k]
			if !ok {
				continue
			}
			c := byID[k]
			if seen[k] {
				fmt.Fprintf(w, "%s└ %s #%d → %s (see above)\n", indent, e.Kind, e.Seq, c.TraceCode)
				continue
			}
			seen[k] = true
			line(c, indent, fmt.Sprintf("└ %s #%d → ", e.Kind, e.Seq))
			down(k, indent+"  ")
		}
	}
	down(t.Lot, "  ")
}

func kg(g int64) string {
	if g%1000 == 0 {
		return fmt.Sprintf("%d kg", g/1000)
	}
	return fmt.Sprintf("%.3f kg", float64(g)/1000)
}

type reportCmd struct {
	source
	Region string `help:"Region prefix (2, 4 or 6 digits); default all (offline) or the key's regions."`
	From   string `help:"Declared at or after (RFC 3339 or YYYY-MM-DD, China time)."`
	To     string `help:"Declared before (RFC 3339 or YYYY-MM-DD, China time)."`
	Format string `default:"json" enum:"json,csv,xlsx,pdf" help:"json, csv, xlsx or pdf."`
	Out    string `short:"o" help:"Write to this file instead of standard output."`
}

var chinaTime = time.FixedZone("CST", 8*3600)

func parseWhen(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, chinaTime); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time or a date (YYYY-MM-DD)", name, v)
}

func (c *reportCmd) Run(ctx context.Context) error {
	var w io.Writer = os.Stdout
	if c.Out != "" {
		f, err := os.Create(c.Out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	} else if c.Format == "xlsx" || c.Format == "pdf" {
		return fmt.Errorf("--format %s writes a binary file: give --out FILE", c.Format)
	}
	if c.Server != "" {
		q := url.Values{"format": {c.Format}}
		for k, v := range map[string]string{"region": c.Region, "from": c.From, "to": c.To} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return c.get(ctx, "/v1/reports/closure?"+q.Encode(), w)
	}
	f := ledger.ReportFilter{Region: c.Region}
	var err error
	if f.From, err = parseWhen("from", c.From); err != nil {
		return err
	}
	if f.To, err = parseWhen("to", c.To); err != nil {
		return err
	}
	var font []byte
	if c.Format == "pdf" {
		if font, err = (&report.Font{}).Data(); err != nil {
			return err
		}
	}
	return c.offline(func(l *ledger.Ledger, p ledger.Principal) error {
		rep, err := l.ClosureReport(ctx, p, f)
		if err != nil {
			return err
		}
		switch c.Format {
		case "csv":
			return report.CSV(w, rep)
		case "xlsx":
			return report.XLSX(w, rep)
		case "pdf":
			return report.PDF(w, rep, font)
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(report.JSONView(rep))
	})
}
