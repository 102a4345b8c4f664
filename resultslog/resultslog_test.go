package resultslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
)

var at = time.Date(2026, 11, 25, 12, 0, 5, 123456789, time.FixedZone("CET", 3600))

func TestMarshal(t *testing.T) {
	tests := []struct {
		name string
		r    checks.Result
		want string // exact line, without the newline
	}{
		{
			"http ok",
			checks.Result{Target: "shop", Kind: checks.KindHTTP, Time: at, OK: true, Latency: 12500 * time.Microsecond,
				StatusCode: 200, Reason: "ignored when ok"},
			`{"time":"2026-11-25T11:00:05.123Z","name":"shop","kind":"http","ok":true,"latency_ms":12.5,"error":"","status_code":200}`,
		},
		{
			"http down with cert",
			checks.Result{Target: "shop", Kind: checks.KindHTTP, Time: at, Latency: 1234567 * time.Nanosecond, Reason: "HTTP 503",
				StatusCode: 503, CertExpiry: time.Date(2027, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -7200))},
			`{"time":"2026-11-25T11:00:05.123Z","name":"shop","kind":"http","ok":false,"latency_ms":1.235,"error":"HTTP 503","status_code":503,"cert_expiry":"2027-01-02T05:04:05Z"}`,
		},
		{
			"ping all lost",
			checks.Result{Target: "web-1", Kind: checks.KindPing, Time: at, Reason: "100% packet loss (3/3)", Sent: 3, Loss: 100},
			`{"time":"2026-11-25T11:00:05.123Z","name":"web-1","kind":"ping","ok":false,"latency_ms":0,"error":"100% packet loss (3/3)","sent":3,"received":0,"loss":100}`,
		},
		{
			"ping ok",
			checks.Result{Target: "web-1", Kind: checks.KindPing, Time: at, OK: true, Latency: 333 * time.Microsecond,
				Sent: 3, Received: 3, Loss: 0},
			`{"time":"2026-11-25T11:00:05.123Z","name":"web-1","kind":"ping","ok":true,"latency_ms":0.333,"error":"","sent":3,"received":3,"loss":0}`,
		},
		{
			"ping partial loss",
			checks.Result{Target: "web-1", Kind: checks.KindPing, Time: at, OK: true, Latency: time.Millisecond,
				Sent: 3, Received: 2, Loss: 100.0 / 3},
			`{"time":"2026-11-25T11:00:05.123Z","name":"web-1","kind":"ping","ok":true,"latency_ms":1,"error":"","sent":3,"received":2,"loss":33.333}`,
		},
		{
			"tcp refused, exact second",
			checks.Result{Target: "db", Kind: checks.KindTCP, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
				Reason: "dial tcp 127.0.0.1:9: connection refused"},
			`{"time":"2026-01-02T03:04:05.000Z","name":"db","kind":"tcp","ok":false,"latency_ms":0,"error":"dial tcp 127.0.0.1:9: connection refused"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want+"\n" {
				t.Errorf("line =\n%s\nwant\n%s", got, tt.want)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
				t.Errorf("time is not RFC 3339: %v", err)
			}
		})
	}
}

func TestWriteDecodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := checks.Result{Target: "shop", Kind: checks.KindHTTP, Time: at, Latency: 2 * time.Second, Reason: "slow: 2s > 1s", StatusCode: 200}
	if err := l.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1", len(lines))
	}
	want := map[string]any{
		"time": "2026-11-25T11:00:05.123Z", "name": "shop", "kind": "http", "ok": false,
		"latency_ms": 2000.0, "error": "slow: 2s > 1s", "status_code": 200.0,
	}
	if !reflect.DeepEqual(lines[0], want) {
		t.Errorf("line = %v, want %v", lines[0], want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode&^0o644 != 0 {
		t.Errorf("mode = %v, want at most 0644", mode)
	}
}

func TestOpenAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	if err := os.WriteFile(path, []byte("{\"old\":true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(checks.Result{Target: "a", Kind: checks.KindTCP, OK: true}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 2 || lines[0]["old"] != true || lines[1]["name"] != "a" {
		t.Errorf("lines = %v, want the old line then the new", lines)
	}
}

func TestOpenError(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "results.jsonl")); err == nil {
		t.Error("Open in a missing directory = nil error")
	}
}

func TestConcurrentWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				r := checks.Result{Target: fmt.Sprintf("t%d", g), Kind: checks.KindTCP, Time: at, OK: true,
					Latency: time.Duration(i) * time.Millisecond}
				if err := l.Write(r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Reopen while writing: no line may be lost or torn.
	wg.Go(func() {
		for range 10 {
			if err := l.Reopen(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	seen := map[string]int{}
	for _, m := range lines {
		seen[m["name"].(string)]++
	}
	for g := range writers {
		if n := seen[fmt.Sprintf("t%d", g)]; n != each {
			t.Errorf("t%d: %d lines, want %d", g, n, each)
		}
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.jsonl")
	rotated := filepath.Join(dir, "results.jsonl.1")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	write := func(name string) {
		t.Helper()
		if err := l.Write(checks.Result{Target: name, Kind: checks.KindHTTP, Time: at, OK: true}); err != nil {
			t.Fatal(err)
		}
	}
	write("before-1")
	write("before-2")
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	write("before-reopen") // still the old, renamed file
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	write("after")

	if got := names(readLines(t, rotated)); !reflect.DeepEqual(got, []string{"before-1", "before-2", "before-reopen"}) {
		t.Errorf("rotated file has %q", got)
	}
	if got := names(readLines(t, path)); !reflect.DeepEqual(got, []string{"after"}) {
		t.Errorf("new file has %q", got)
	}
}

func TestReopenFailsKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "logs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "results.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(sub, moved); err != nil { // the directory is gone: reopening must fail
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil {
		t.Fatal("Reopen = nil, want an error")
	}
	if err := l.Write(checks.Result{Target: "still", Kind: checks.KindTCP, OK: true}); err != nil {
		t.Fatalf("Write after a failed Reopen = %v", err)
	}
	if got := names(readLines(t, filepath.Join(moved, "results.jsonl"))); !reflect.DeepEqual(got, []string{"still"}) {
		t.Errorf("old file has %q", got)
	}
}

func TestWriteAfterClose(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := l.Write(checks.Result{Target: "x"}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Error("file does not end in a newline")
	}
	return out
}

func names(lines []map[string]any) []string {
	var out []string
	for _, m := range lines {
		out = append(out, m["name"].(string))
	}
	return out
}
