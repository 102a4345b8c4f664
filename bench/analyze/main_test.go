package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHostAddrs(t *testing.T) {
	tests := []struct {
		prefix    string
		n         int
		wantErr   bool
		wantFirst string
		wantLast  string
	}{
		{prefix: "127.1", n: 1000, wantFirst: "127.1.0.1", wantLast: "127.1.3.250"},
		{prefix: "127.1", n: 10000, wantFirst: "127.1.0.1", wantLast: "127.1.39.250"},
		{prefix: "127.2", n: 251, wantFirst: "127.2.0.1", wantLast: "127.2.1.1"},
		{prefix: "127.2", n: 25000, wantFirst: "127.2.0.1", wantLast: "127.2.99.250"},
		{prefix: "127.2", n: 62500, wantFirst: "127.2.0.1", wantLast: "127.2.249.250"},
		{prefix: "127.1", n: 62501, wantErr: true},
		{prefix: "127.1", n: -1, wantErr: true},
		{prefix: "10.1", n: 1, wantErr: true},
		{prefix: "nonsense", n: 1, wantErr: true},
	}
	for _, tt := range tests {
		got, err := hostAddrs(tt.prefix, tt.n)
		if (err != nil) != tt.wantErr {
			t.Errorf("hostAddrs(%q, %d) error = %v, want error %v", tt.prefix, tt.n, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if len(got) != tt.n || got[0] != tt.wantFirst || got[len(got)-1] != tt.wantLast {
			t.Errorf("hostAddrs(%q, %d) = %d addrs %s…%s, want %s…%s", tt.prefix, tt.n, len(got), got[0], got[len(got)-1], tt.wantFirst, tt.wantLast)
		}
		seen := map[string]bool{}
		for _, a := range got {
			if seen[a] {
				t.Errorf("hostAddrs(%q, %d): %s twice", tt.prefix, tt.n, a)
			}
			seen[a] = true
		}
	}
}

func TestDaemonConfig(t *testing.T) {
	var cfg, names bytes.Buffer
	s := daemonSpec{Ping: 3, HTTP: 100, Hang: 2, URLs: []string{"http://127.0.0.1:9/"}, Every: "30s", Timeout: "5s",
		Listen: "127.0.0.1:1", State: "s.db", ResultsLog: "r.jsonl"}
	if err := s.write(&cfg, &names); err != nil {
		t.Fatal(err)
	}
	nl := strings.Fields(names.String())
	if len(nl) != 103 {
		t.Fatalf("%d names, want 103", len(nl))
	}
	hang := 0
	for _, n := range nl {
		if strings.HasPrefix(n, "hang-") {
			hang++
		}
	}
	if hang != 2 {
		t.Errorf("%d hang- names, want 2", hang)
	}
	for _, want := range []string{
		"results_log: \"r.jsonl\"\n", "  every: 30s\n", "  - name: p-0-1\n    ping: 127.2.0.1\n",
		"  - name: hang-0\n    http: \"http://127.0.0.1:9/hang?i=0\"\n", "  - name: w-1\n    http: \"http://127.0.0.1:9/ok?i=1\"\n",
		"  - name: hang-50\n",
	} {
		if !strings.Contains(cfg.String(), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg.String())
		}
	}
	if err := (daemonSpec{HTTP: 1, Hang: 2}).write(&cfg, &names); err == nil {
		t.Error("hang > http: no error")
	}
	if err := (daemonSpec{HTTP: 1}).write(&cfg, &names); err == nil {
		t.Error("http targets without a URL: no error")
	}
}

// TestDaemonConfigHosts spreads the http targets over several hosts.
func TestDaemonConfigHosts(t *testing.T) {
	var cfg, names bytes.Buffer
	urls := []string{"http://127.3.0.1:81", "http://127.3.0.2:82/", "http://127.3.0.3:83"}
	s := daemonSpec{HTTP: 7, Hang: 1, URLs: urls, Every: "10s", Timeout: "5s", Listen: "127.0.0.1:1", State: "s.db", ResultsLog: "r.jsonl"}
	if err := s.write(&cfg, &names); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want int
	}{
		{"http://127.3.0.1:81/", 3}, // targets 0 (hang), 3, 6
		{"http://127.3.0.2:82/", 2},
		{"http://127.3.0.3:83/", 2},
	}
	for _, tt := range tests {
		if got := strings.Count(cfg.String(), tt.host); got != tt.want {
			t.Errorf("%d targets on %s, want %d:\n%s", got, tt.host, tt.want, cfg.String())
		}
	}
	if !strings.Contains(cfg.String(), "  - name: hang-0\n    http: \"http://127.3.0.1:81/hang?i=0\"\n") {
		t.Errorf("config lacks hang-0 on the first host:\n%s", cfg.String())
	}
}

func TestHostAddrs6(t *testing.T) {
	tests := []struct {
		prefix  string
		n       int
		want    []string
		wantErr bool
	}{
		{prefix: "fd00:0:0:1::", n: 3, want: []string{"::1", "fd00:0:0:1::1", "fd00:0:0:1::2"}},
		{prefix: "fd00:0:0:1::", n: 1, want: []string{"::1"}},
		{prefix: "fd00:0:0:1::", n: 0, want: []string{}},
		{prefix: "fd12:3456:789a:1::", n: 2, want: []string{"::1", "fd12:3456:789a:1::1"}},
		{prefix: "fd00:0:0:1::5", n: 2, wantErr: true},    // not a /64
		{prefix: "2001:db8::", n: 2, wantErr: true},       // not fd00::/8
		{prefix: "127.0.0.1", n: 2, wantErr: true},        // not IPv6
		{prefix: "::ffff:127.0.0.1", n: 2, wantErr: true}, // mapped IPv4
		{prefix: "fd00:0:0:1::", n: -1, wantErr: true},
	}
	for _, tt := range tests {
		got, err := hostAddrs6(tt.prefix, tt.n)
		if (err != nil) != tt.wantErr {
			t.Errorf("hostAddrs6(%q, %d) error = %v, want error %v", tt.prefix, tt.n, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("hostAddrs6(%q, %d) = %q, want %q", tt.prefix, tt.n, got, tt.want)
		}
	}
	got, err := hostAddrs6("fd00:0:0:1::", 70000)
	if err == nil {
		t.Errorf("hostAddrs6 n=70000 = %d addresses, want an error", len(got))
	}
	got, _ = hostAddrs6("fd00:0:0:1::", 300)
	if got[299] != "fd00:0:0:1::12b" {
		t.Errorf("hostAddrs6 300th = %s, want fd00:0:0:1::12b", got[299])
	}
}

func TestSweepTarget(t *testing.T) {
	tests := []struct {
		addr    string
		want    string
		wantErr bool
	}{
		{addr: "127.1.3.250", want: "h-3-250"},
		{addr: "::1", want: "h6-00000000000000000000000000000001"},
		{addr: "fd00:0:0:1::1", want: "h6-fd000000000000010000000000000001"},
		{addr: "fd00:0:0:1::3e8", want: "h6-fd0000000000000100000000000003e8"},
		{addr: "10.0.0.1", wantErr: true},
		{addr: "2001:db8::1", wantErr: true},
		{addr: "fe80::1", wantErr: true},
		{addr: "fd00::1%eth0", wantErr: true},
		{addr: "localhost", wantErr: true},
	}
	for _, tt := range tests {
		got, err := sweepTarget(tt.addr)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("sweepTarget(%q) = %q, %v; want %q, error %v", tt.addr, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCountDown(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		n       int
		want    int
		wantErr bool
	}{
		{"all up", `{"targets":[{"name":"a","status":"up"},{"name":"b","status":"up"}]}`, 2, 0, false},
		{"one down", `{"targets":[{"name":"a","status":"up"},{"name":"b","status":"down"}]}`, 2, 1, false},
		{"missing counts", `{"targets":[{"name":"a","status":"up"}]}`, 3, 2, false},
		{"not json", `panic: boom`, 5, 5, true},
	}
	for _, tt := range tests {
		got, err := countDown([]byte(tt.json), tt.n)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: countDown = %d, %v; want %d, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFpingLost(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		n      int
		want   int
	}{
		{"all answered", "127.1.0.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.02/0.02/0.02\n127.1.0.2 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.03/0.03/0.03\n", 2, 0},
		{"one lost", "127.1.0.1 : xmt/rcv/%loss = 1/0/100%\n127.1.0.2 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.03/0.03/0.03\n", 2, 1},
		{"not sent", "127.1.0.1 : xmt/rcv/%loss = 0/0/0%\n", 1, 1},
		{"missing host and noise", "fping: some warning\n127.1.0.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 1/1/1\n", 3, 2},
		{"duplicate summary counted once", "127.1.0.1 : xmt/rcv/%loss = 1/0/100%\n127.1.0.1 : xmt/rcv/%loss = 1/0/100%\n", 1, 1},
	}
	for _, tt := range tests {
		got, err := fpingLost(strings.NewReader(tt.stderr), tt.n, 1)
		if err != nil || got != tt.want {
			t.Errorf("%s: fpingLost = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestProcStat(t *testing.T) {
	stat := "4242 (to cs) in) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 123 1000 200 18446744073709551615"
	status := "Name:\ttocsin\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n"
	cpu, hwm, err := procStat(stat, status, 100)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(cpu-3.0) > 1e-9 || hwm != 51200 {
		t.Errorf("procStat = %v s, %d kB; want 3 s, 51200 kB", cpu, hwm)
	}
	if _, _, err := procStat("4242 tocsin S 1", status, 100); err == nil {
		t.Error("stat without comm: no error")
	}
	if _, _, err := procStat("4242 (x) S 1 2", status, 100); err == nil {
		t.Error("short stat: no error")
	}
}

func TestFindMissed(t *testing.T) {
	start := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	at := func(sec float64) string {
		return start.Add(time.Duration(sec * float64(time.Second))).Format(time.RFC3339Nano)
	}
	line := func(name string, sec float64) string {
		return fmt.Sprintf(`{"time":%q,"name":%q,"kind":"ping","ok":true,"latency_ms":0.1,"error":""}`, at(sec), name)
	}
	var log []string
	for _, s := range []float64{5, 35, 65, 95} {
		log = append(log, line("good", s))
	}
	for _, s := range []float64{31.5, 61, 91, 119} { // first too late
		log = append(log, line("late", s))
	}
	for _, s := range []float64{1, 31, 80, 110} { // a 49 s gap
		log = append(log, line("hang-gap", s))
	}
	for _, s := range []float64{30.5, 60, 90, 115} { // first a little late: start-up
		log = append(log, line("slightly-late", s))
	}
	for _, s := range []float64{2, 32, 62} { // too few
		log = append(log, line("few", s))
	}
	for _, s := range []float64{95, 65, 35, 5, 125} { // out of order; the last after the end
		log = append(log, line("hang-unordered", s))
	}
	log = append(log, line("stranger", 1), "")
	names := []string{"good", "late", "slightly-late", "hang-gap", "few", "hang-unordered", "never"}

	rep, err := findMissed(strings.NewReader(strings.Join(log, "\n")), names, start, 120*time.Second, 30*time.Second, "hang-")
	if err != nil {
		t.Fatal(err)
	}
	want := missedReport{Checks: 4 + 4 + 4 + 4 + 3 + 4, Missed: 5, MissedInGroup: 1, LateStartOnly: 1, Why: []string{
		"late: first result 31.5s after start",
		"slightly-late: first result 30.5s after start",
		"hang-gap: 49.0s between results at 01:00:31.000",
		"few: 3 results, want ≥ 4",
		"never: 0 results, want ≥ 4",
	}}
	if fmt.Sprint(rep) != fmt.Sprint(want) {
		t.Errorf("findMissed = %+v, want %+v", rep, want)
	}

	if _, err := findMissed(strings.NewReader("{not json"), names, start, time.Minute, 30*time.Second, ""); err == nil {
		t.Error("bad line: no error")
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

func TestParseDaemon(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    daemonRun
		wantErr bool
	}{
		{
			name: "full",
			line: "10000 30s 100 120.50 12.05 81920 40000 3 1 1 5000 40000 120 100\n",
			want: daemonRun{Label: "x", Targets: 10000, Every: 30 * time.Second, Hang: 100, Wall: 120.5, CPU: 12.05, HWMKB: 81920,
				Checks: 40000, Missed: 3, MissHg: 1, LateStartOnly: 1, Conns: 5000, Requests: 40000, PeakOpen: 120, PeakIdle: 100},
		},
		{
			name: "no http stats",
			line: "1000 10s 0 35 1 2048 3000 0 0 0 -1 -1 -1 -1",
			want: daemonRun{Label: "x", Targets: 1000, Every: 10 * time.Second, Wall: 35, CPU: 1, HWMKB: 2048, Checks: 3000,
				Conns: -1, Requests: -1, PeakOpen: -1, PeakIdle: -1},
		},
		{name: "old format", line: "10000 0 120.50 12.05 81920 40000 3 0 1", wantErr: true},
		{name: "bad every", line: "1000 often 0 35 1 2048 3000 0 0 0 -1 -1 -1 -1", wantErr: true},
		{name: "zero every", line: "1000 0s 0 35 1 2048 3000 0 0 0 -1 -1 -1 -1", wantErr: true},
		{name: "short", line: "1000 10s 0 35", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseDaemon("x", tt.line)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: parseDaemon error = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("%s: parseDaemon = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSweepLabel(t *testing.T) {
	tests := []struct {
		label  string
		family string
		n      int
		ok     bool
	}{
		{"1000", "v4", 1000, true},
		{"v4-10000", "v4", 10000, true},
		{"v6-1000", "v6", 1000, true},
		{"v5-1000", "", 0, false},
		{"v6-many", "", 0, false},
		{"v6--1", "", 0, false},
	}
	for _, tt := range tests {
		f, n, ok := sweepLabel(tt.label)
		if f != tt.family || n != tt.n || ok != tt.ok {
			t.Errorf("sweepLabel(%q) = %q, %d, %v; want %q, %d, %v", tt.label, f, n, ok, tt.family, tt.n, tt.ok)
		}
	}
}

func TestEveryText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "30s"},
		{45 * time.Second, "45s"},
		{15 * time.Second, "15s"},
		{60 * time.Second, "1m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
	}
	for _, tt := range tests {
		if got := everyText(tt.d); got != tt.want {
			t.Errorf("everyText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"sweep-v4-1000-fping.tsv":         "0.50 0.01 0.02 0 0\n0.60 0.01 0.03 1 1\n0.40 0.02 0.02 0 0\n",
		"sweep-v4-1000-tocsin.tsv":        "1.00 0.50 0.20 0 0\n1.20 0.60 0.20 2 1\n0.80 0.40 0.20 0 124\n",
		"sweep-v4-1000-tocsin_perchk.tsv": "3.00 2.00 1.00 0 0\n",
		"sweep-v6-200-fping.tsv":          "0.10 0.01 0.01 0 0\n",
		"sweep-v6-200-tocsin.tsv":         "0.20 0.10 0.10 0 0\n",
		"daemon-t10000-e30s-plain.tsv":    "10000 30s 0 120.50 12.05 81920 40000 3 0 1 5000 40000 120 100\n",
		"daemon-t10000-e30s-hang.tsv":     "10000 30s 100 120.00 24.00 102400 40000 5 2 0 -1 -1 -1 -1\n",
		"daemon-t10000-e10s-plain.tsv":    "10000 10s 0 60.00 30.00 102400 60000 0 0 0 5000 0 7 7\n",
		"daemon-t1000-e30s-plain.tsv":     "1000 30s 0 90.00 1.00 40960 0 1000 0 0 0 0 0 0\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := writeReport(dir, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| IPv4 | 1000 | hosts_file, shared socket | 3 | 0.50 | 1.00 | 2.0× | 0.04 | 0.70 | 17.5× | 1 | 2 | 0/1 |",
		"| IPv4 | 1000 | hosts_file, `icmp_socket: per_check` | 1 | 0.50 | 3.00 | 6.0× | 0.04 | 3.00 | 75.0× | 1 | 0 | 0/0 |",
		"| IPv6 | 200 | hosts_file, shared socket | 1 | 0.10 | 0.20 | 2.0× | 0.02 | 0.20 | 10.0× | 0 | 0 | 0/0 |",
		"| 1000 | 30s | 0 | 90 | 1.00 | 1.1 | 0 | – | 40.0 | 1000 | 0 | 0 | 0 | – | 0 |",
		"| 10000 | 30s | 0 | 120 | 12.05 | 10.0 | 40000 | 301.2 | 80.0 | 3 | 0 | 1 | 5000 | 8.0 | 120 |",
		"| 10000 | 30s | 100 | 120 | 24.00 | 20.0 | 40000 | 600.0 | 100.0 | 5 | 2 | 0 | – | – | – |",
		"| 10000 | 10s | 0 | 60 | 30.00 | 50.0 | 60000 | 500.0 | 100.0 | 0 | 0 | 0 | 5000 | 0.0 | 7 |",
		"(45s at 30s, 15s at 10s)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Rows in order: targets, then the longer interval, then hang.
	text := out.String()
	order := []string{"| 1000 | 30s | 0 |", "| 10000 | 30s | 0 |", "| 10000 | 30s | 100 |", "| 10000 | 10s | 0 |"}
	last := -1
	for _, o := range order {
		i := strings.Index(text, o)
		if i < last {
			t.Errorf("row %q out of order:\n%s", o, text)
		}
		last = i
	}

	if err := os.WriteFile(filepath.Join(dir, "daemon-t1000-e30s-plain.tsv"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(dir, &out); err == nil {
		t.Error("garbage daemon tsv: no error")
	}
}
