package resultslog

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
)

// Micro-benchmarks of the results log, one line per check result. Run
// them with
//
//	go test -run '^$' -bench . -benchmem ./resultslog/

// benchResults are the lines the benchmarks write: an HTTP success, an
// HTTP failure with a certificate, and a ping with its echo detail.
var benchResults = map[string]checks.Result{
	"http": {Target: "shop", Kind: checks.KindHTTP, Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), OK: true,
		Latency: 12345 * time.Microsecond, StatusCode: 200},
	"http_fail": {Target: "shop", Kind: checks.KindHTTP, Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Latency: 2 * time.Second, Reason: "slow: 2s > 1.5s", StatusCode: 200,
		CertExpiry: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)},
	"ping": {Target: "router", Kind: checks.KindPing, Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), OK: true,
		Latency: 850 * time.Microsecond, Sent: 3, Received: 3, MinRTT: 700 * time.Microsecond,
		AvgRTT: 850 * time.Microsecond, MaxRTT: time.Millisecond},
}

// BenchmarkMarshal is the rendering of one result as its line.
func BenchmarkMarshal(b *testing.B) {
	for _, name := range []string{"http", "http_fail", "ping"} {
		r := benchResults[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Marshal(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWrite is Log.Write of one result to a file in a temp dir: the
// line rendered and appended in one write call.
func BenchmarkWrite(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "results.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := benchResults["http"]
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}
