package main

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestNiceCeil(t *testing.T) {
	tests := []struct {
		in, want float64
	}{
		{0.3, 0.5},
		{1, 1},
		{1.2, 2},
		{2, 2},
		{2.2, 2.5},
		{3, 5},
		{7, 10},
		{99, 100},
		{157.5, 200},
		{420, 500},
		{0, 1},
		{-3, 1},
		{math.NaN(), 1},
	}
	for _, tt := range tests {
		if got := niceCeil(tt.in); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestCommas(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {50000, "50,000"}, {1234567, "1,234,567"}, {-10000, "-10,000"},
	}
	for _, tt := range tests {
		if got := commas(tt.n); got != tt.want {
			t.Errorf("commas(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestGrowthPoints(t *testing.T) {
	runs := []daemonRun{
		{Targets: 1000, Every: 30 * time.Second, CPU: 1, Checks: 4000, HWMKB: 40 * 1024},
		{Targets: 10000, Every: 30 * time.Second, CPU: 16, Checks: 40000, HWMKB: 80 * 1024},
		{Targets: 10000, Every: 30 * time.Second, Hang: 100, CPU: 17, Checks: 40000, HWMKB: 81 * 1024}, // hang: not on the curve
		{Targets: 10000, Every: 10 * time.Second, CPU: 40, Checks: 120000, HWMKB: 90 * 1024},           // other interval
		{Targets: 50000, Every: 30 * time.Second, CPU: 0, Checks: 0},                                   // no checks: left out
		{Targets: 20000, Every: 30 * time.Second, CPU: 30, Checks: 80000, HWMKB: 100 * 1024},
	}
	got := growthPoints(runs, 30*time.Second)
	want := []growthPoint{{1000, 250, 40}, {10000, 400, 80}, {20000, 375, 100}}
	if len(got) != len(want) {
		t.Fatalf("growthPoints = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Targets != want[i].Targets || math.Abs(got[i].CPUPerK-want[i].CPUPerK) > 1e-9 || math.Abs(got[i].RSSMB-want[i].RSSMB) > 1e-9 {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// svgCounts parses an SVG document and counts its elements by name and
// class ("circle.cpu").
func svgCounts(t *testing.T, doc string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					counts[se.Name.Local+"."+a.Value]++
				}
			}
		}
	}
	return counts
}

func TestWriteSVG(t *testing.T) {
	tests := []struct {
		name     string
		pts      []growthPoint
		wantText []string
		wantErr  bool
	}{
		{
			name:     "three sizes, log scale",
			pts:      []growthPoint{{1000, 250, 40}, {10000, 400, 80}, {50000, 450, 170}},
			wantText: []string{">1,000<", ">10,000<", ">50,000<", ">170 MB<", ">450<", "RSS goal 150 MB"},
		},
		{
			name:     "one size",
			pts:      []growthPoint{{1000, 300, 50}},
			wantText: []string{">1,000<", ">300<", ">50 MB<"},
		},
		{
			name:     "no CPU figure",
			pts:      []growthPoint{{1000, math.NaN(), 50}, {2000, 300, 60}},
			wantText: []string{">2,000<", ">60 MB<"},
		},
		{name: "nothing", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			err := writeSVG(&b, tt.pts, "cost & <growth>")
			if (err != nil) != tt.wantErr {
				t.Fatalf("writeSVG error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			doc := b.String()
			c := svgCounts(t, doc)
			cpu := 0
			for _, p := range tt.pts {
				if !math.IsNaN(p.CPUPerK) {
					cpu++
				}
			}
			if c["svg"] != 1 || c["circle.cpu"] != cpu || c["rect.rss"] != len(tt.pts) || c["polyline.cpu"] != 1 || c["polyline.rss"] != 1 {
				t.Errorf("element counts %v, want 1 svg, %d CPU circles, %d RSS squares, one line each", c, cpu, len(tt.pts))
			}
			for _, want := range append(tt.wantText, "cost &amp; &lt;growth&gt;") {
				if !strings.Contains(doc, want) {
					t.Errorf("SVG lacks %q:\n%s", want, doc)
				}
			}
			if strings.Contains(doc, "NaN") || strings.Contains(doc, "Inf") {
				t.Errorf("SVG has a NaN or Inf coordinate:\n%s", doc)
			}
		})
	}
}

func TestXScale(t *testing.T) {
	tests := []struct {
		name string
		pts  []growthPoint
		n    int
		want float64
	}{
		{"single in the middle", []growthPoint{{Targets: 5}}, 5, (areaX0 + areaX1) / 2},
		{"log: first at the left inset", []growthPoint{{Targets: 1000}, {Targets: 100000}}, 1000, areaX0 + 30},
		{"log: 10,000 halfway between 1,000 and 100,000", []growthPoint{{Targets: 1000}, {Targets: 100000}}, 10000, (areaX0 + areaX1) / 2},
		{"linear: halfway", []growthPoint{{Targets: 1000}, {Targets: 2000}}, 1500, (areaX0 + areaX1) / 2},
	}
	for _, tt := range tests {
		if got := xScale(tt.pts)(tt.n); math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("%s: x(%d) = %v, want %v", tt.name, tt.n, got, tt.want)
		}
	}
}
