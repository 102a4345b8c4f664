package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// growthPoint is one daemon run on the growth curve.
type growthPoint struct {
	Targets int
	CPUPerK float64 // CPU ms per 1,000 checks
	RSSMB   float64 // peak RSS
}

// growthPoints picks the runs without /hang targets at every, one per
// target count (the later file wins a tie), sorted by targets. Runs
// without checks have no CPU per check and are left out.
func growthPoints(runs []daemonRun, every time.Duration) []growthPoint {
	byN := map[int]growthPoint{}
	for _, d := range runs {
		if d.Hang != 0 || d.Every != every || d.Checks <= 0 {
			continue
		}
		byN[d.Targets] = growthPoint{Targets: d.Targets, CPUPerK: d.cpuPerK(), RSSMB: float64(d.HWMKB) / 1024}
	}
	out := make([]growthPoint, 0, len(byN))
	for _, p := range byN {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Targets < out[j].Targets })
	return out
}

// niceCeil is the smallest of 1, 2, 2.5 and 5 times a power of ten that is
// at least v (v > 0); an axis from 0 to it divides into 5 readable steps.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		// The small tolerance keeps 2.0000000001 (float noise) at 2.
		if m*p >= v*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// commas writes n with thousands separators: 50000 → "50,000".
func commas(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// tickText formats an axis value without trailing zeros.
func tickText(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// rssGoal is the peak RSS the daemon should stay under, drawn as a line.
const rssGoal = 150.0

// plot geometry, in SVG user units.
const (
	plotW, plotH                          = 760, 420
	padLeft, padRight, padTop, padBottom  = 80, 80, 60, 70
	areaX0, areaX1, areaY0, areaY1        = padLeft, plotW - padRight, padTop, plotH - padBottom
	cpuColour, rssColour, goalColour      = "#1f6fb4", "#c0392b", "#c0392b"
	gridColour, axisColour, labelFontSize = "#dddddd", "#333333", 12
)

// xScale maps a target count to x: on a log scale when the counts span at
// least a factor of 4 (1,000 to 50,000 would crowd the left on a linear
// one), linear otherwise; a single count sits in the middle.
func xScale(pts []growthPoint) func(n int) float64 {
	lo, hi := float64(pts[0].Targets), float64(pts[len(pts)-1].Targets)
	inset := 30.0 // keep the end points off the axes
	x0, x1 := areaX0+inset, areaX1-inset
	switch {
	case hi <= lo:
		return func(int) float64 { return (areaX0 + areaX1) / 2 }
	case lo > 0 && hi/lo >= 4:
		a, b := math.Log10(lo), math.Log10(hi)
		return func(n int) float64 { return x0 + (math.Log10(float64(n))-a)/(b-a)*(x1-x0) }
	default:
		return func(n int) float64 { return x0 + (float64(n)-lo)/(hi-lo)*(x1-x0) }
	}
}

// writeSVG draws CPU ms per 1,000 checks (left axis) and peak RSS MB (right
// axis) against targets, as plain SVG 1.1.
func writeSVG(w io.Writer, pts []growthPoint, title string) error {
	if len(pts) == 0 {
		return errors.New("no daemon runs to plot")
	}
	var cpuMax, rssMax float64
	for _, p := range pts {
		if !math.IsNaN(p.CPUPerK) {
			cpuMax = max(cpuMax, p.CPUPerK)
		}
		rssMax = max(rssMax, p.RSSMB)
	}
	cpuTop := niceCeil(cpuMax * 1.1)
	// The RSS axis always reaches past the goal, so the line shows.
	rssTop := niceCeil(max(rssMax*1.1, rssGoal*1.05))
	x := xScale(pts)
	yOf := func(v, top float64) float64 { return areaY1 - v/top*(areaY1-areaY0) }

	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">
`, plotW, plotH, plotW, plotH, labelFontSize)
	fmt.Fprintf(&b, "<title>%s</title>\n", xmlText(title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="28" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n", plotW/2, xmlText(title))

	// Grid and both y axes' ticks: five steps each, sharing the grid lines.
	const steps = 5
	for i := 0; i <= steps; i++ {
		y := areaY1 - float64(i)/steps*(areaY1-areaY0)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", areaX0, y, areaX1, y, gridColour)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">%s</text>`+"\n", areaX0-8, y+4, cpuColour, tickText(cpuTop*float64(i)/steps))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="start" fill="%s">%s</text>`+"\n", areaX1+8, y+4, rssColour, tickText(rssTop*float64(i)/steps))
	}
	fmt.Fprintf(&b, `<polyline points="%d,%d %d,%d %d,%d %d,%d" fill="none" stroke="%s"/>`+"\n",
		areaX0, areaY0, areaX0, areaY1, areaX1, areaY1, areaX1, areaY0, axisColour)

	// x ticks: one at each measured target count.
	for _, p := range pts {
		px := x(p.Targets)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", px, areaY1, px, areaY1+5, axisColour)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px, areaY1+20, commas(p.Targets))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">targets (half ping, half HTTP)</text>`+"\n", (areaX0+areaX1)/2, plotH-22)
	fmt.Fprintf(&b, `<text transform="translate(22 %d) rotate(-90)" text-anchor="middle" fill="%s">CPU ms per 1,000 checks</text>`+"\n", (areaY0+areaY1)/2, cpuColour)
	fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(90)" text-anchor="middle" fill="%s">peak RSS MB</text>`+"\n", plotW-22, (areaY0+areaY1)/2, rssColour)

	// The RSS goal.
	gy := yOf(rssGoal, rssTop)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/>`+"\n", areaX0, gy, areaX1, gy, goalColour)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">RSS goal %s MB</text>`+"\n", areaX1-4, gy-5, goalColour, tickText(rssGoal))

	// The two series: a line through the points, each point marked and
	// labelled with its value.
	var cpuLine, rssLine []string
	for _, p := range pts {
		px := x(p.Targets)
		if !math.IsNaN(p.CPUPerK) {
			cpuLine = append(cpuLine, fmt.Sprintf("%.1f,%.1f", px, yOf(p.CPUPerK, cpuTop)))
		}
		rssLine = append(rssLine, fmt.Sprintf("%.1f,%.1f", px, yOf(p.RSSMB, rssTop)))
	}
	fmt.Fprintf(&b, `<polyline class="cpu" points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(cpuLine, " "), cpuColour)
	fmt.Fprintf(&b, `<polyline class="rss" points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(rssLine, " "), rssColour)
	for _, p := range pts {
		px := x(p.Targets)
		if !math.IsNaN(p.CPUPerK) {
			cy := yOf(p.CPUPerK, cpuTop)
			fmt.Fprintf(&b, `<circle class="cpu" cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", px, cy, cpuColour)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%.0f</text>`+"\n", px, cy-9, cpuColour, p.CPUPerK)
		}
		ry := yOf(p.RSSMB, rssTop)
		fmt.Fprintf(&b, `<rect class="rss" x="%.1f" y="%.1f" width="8" height="8" fill="%s"/>`+"\n", px-4, ry-4, rssColour)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%.0f MB</text>`+"\n", px, ry+18, rssColour, p.RSSMB)
	}

	// Legend, top left inside the plot area.
	lx, ly := areaX0+12, areaY0+16
	fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="4" fill="%s"/><text x="%d" y="%d">CPU ms / 1,000 checks (left)</text>`+"\n", lx, ly-4, cpuColour, lx+10, ly)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="8" height="8" fill="%s"/><text x="%d" y="%d">peak RSS MB (right)</text>`+"\n", lx-4, ly+10, rssColour, lx+10, ly+18)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// xmlText escapes s for an SVG text node.
func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func cmdPlot(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	dir := fs.String("dir", "bench/out/raw", "raw measurements")
	every := fs.Duration("every", 30*time.Second, "plot the runs at this interval without /hang targets")
	out := fs.String("out", "", "write the SVG to this `file` (default stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	runs, err := readDaemons(*dir)
	if err != nil {
		return err
	}
	pts := growthPoints(runs, *every)
	title := fmt.Sprintf("tocsin run: cost against targets (every %s)", everyText(*every))
	if *out == "" {
		return writeSVG(stdout, pts, title)
	}
	var b strings.Builder
	if err := writeSVG(&b, pts, title); err != nil {
		return err
	}
	return writeFileAtomic(*out, b.String())
}

// writeFileAtomic writes to a temporary name and renames, so no reader
// sees the file half written.
func writeFileAtomic(path, text string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
