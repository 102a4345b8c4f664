package web

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/tocsin/tocsin/state"
)

// pageSource is the status page: self-contained (inline CSS, no scripts, no
// external assets) and refreshed by the browser every 30 s. html/template
// escapes every value; target names and errors are user data.
const pageSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tocsin{{if .Down}} ({{.Down}} down){{end}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#222;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 1rem}
.counts span{display:inline-block;margin-right:1.2rem;font-weight:600}
table{border-collapse:collapse;width:100%;margin-top:1rem;background:#fff}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e4e4e4;vertical-align:top}
th{background:#f0f0f0;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.err{color:#a33;word-break:break-word}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;color:#fff;font-size:.85rem;font-weight:600}
.badge.up{background:#2e8540}
.badge.down{background:#c62828}
.badge.unknown{background:#888}
.note{color:#666;font-size:.85rem}
.notifiers{margin-top:1.5rem}
</style>
</head>
<body>
<h1>tocsin status</h1>
<p class="counts"><span>{{.Total}} targets</span><span>{{.Up}} up</span><span>{{.Down}} down</span><span>{{.Unknown}} unknown</span></p>
{{if .Rows}}<table>
<thead><tr><th>Target</th><th>Kind</th><th>Status</th><th>Since</th><th>Last latency</th><th>Last error</th></tr></thead>
<tbody>
{{range .Rows}}<tr>
<td>{{.Name}}</td>
<td>{{.Kind}}</td>
<td><span class="badge {{.Status}}">{{.Status}}</span>{{if .AckedBy}} <span class="note">acked by {{.AckedBy}}</span>{{end}}{{if .MutedUntil}} <span class="note">muted until {{.MutedUntil}}</span>{{end}}</td>
<td>{{.Since}}</td>
<td class="num">{{.Latency}}</td>
<td class="err">{{.LastError}}</td>
</tr>
{{end}}</tbody>
</table>{{else}}<p>No targets configured.</p>{{end}}
{{if .Notifiers}}<div class="notifiers"><strong>Notifiers:</strong>
{{range .Notifiers}}<span class="badge {{if .Healthy}}up{{else}}down{{end}}">{{.Name}}</span>{{if not .Healthy}} <span class="note">{{.Error}}</span>{{end}}
{{end}}</div>{{end}}
</body>
</html>
`

// parsePage parses the status page; the source is a constant, so failure
// is a programming error caught by every test.
func parsePage() *template.Template {
	return template.Must(template.New("status").Parse(pageSource))
}

type page struct {
	Total, Up, Down, Unknown int
	Rows                     []pageRow
	Notifiers                []pageNotifier
}

type pageRow struct {
	Name, Kind, Status string
	Since, Latency     string
	LastError          string
	AckedBy            string
	MutedUntil         string
}

type pageNotifier struct {
	Name    string
	Healthy bool
	Error   string
}

// pageData orders the targets down first, the rest as configured, and
// formats every value for display.
func pageData(targets []state.TargetState, notifiers map[string]string) page {
	var p page
	for _, t := range targets {
		d := targetDoc(t) // the same status normalisation as the API
		switch state.Status(d.Status) {
		case state.StatusUp:
			p.Up++
		case state.StatusDown:
			p.Down++
		default:
			p.Unknown++
		}
		row := pageRow{
			Name:      t.Name,
			Kind:      string(t.Kind),
			Status:    d.Status,
			Since:     displayTime(t.Since),
			Latency:   "—",
			LastError: t.LastError,
			AckedBy:   t.AckedBy,
		}
		if !t.MutedUntil.IsZero() {
			row.MutedUntil = displayTime(t.MutedUntil)
		}
		if !t.LastCheck.IsZero() {
			row.Latency = fmt.Sprintf("%.1f ms", d.LastLatencyMS)
		}
		p.Rows = append(p.Rows, row)
	}
	p.Total = len(targets)
	slices.SortStableFunc(p.Rows, func(a, b pageRow) int {
		return downRank(a.Status) - downRank(b.Status)
	})
	for name, msg := range notifiers {
		p.Notifiers = append(p.Notifiers, pageNotifier{Name: name, Healthy: msg == "", Error: msg})
	}
	slices.SortFunc(p.Notifiers, func(a, b pageNotifier) int { return strings.Compare(a.Name, b.Name) })
	return p
}

func downRank(status string) int {
	if status == string(state.StatusDown) {
		return 0
	}
	return 1
}

func displayTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
