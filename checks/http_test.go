package checks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func httpTarget(url string) *Target {
	return &Target{Name: "web", Kind: KindHTTP, Timeout: 5 * time.Second, HTTP: HTTPSpec{URL: url}}
}

func TestHTTPCheck(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "all ok here") })
	mux.HandleFunc("/503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
		}
	})
	// /r/N redirects N more times, then answers 200.
	mux.HandleFunc("/r/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n <= 0 {
			io.WriteString(w, "arrived")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	r := newRunner(t, Options{ICMPMode: ICMPRaw})

	tests := []struct {
		name       string
		spec       HTTPSpec
		timeout    time.Duration
		wantOK     bool
		wantReason string // exact, or a prefix when it ends in "…"
		wantStatus int
	}{
		{name: "200", spec: HTTPSpec{URL: srv.URL + "/ok"}, wantOK: true, wantStatus: 200},
		{name: "503", spec: HTTPSpec{URL: srv.URL + "/503"}, wantReason: "HTTP 503", wantStatus: 503},
		{name: "404 not expected", spec: HTTPSpec{URL: srv.URL + "/404"}, wantReason: "HTTP 404", wantStatus: 404},
		{name: "404 expected", spec: HTTPSpec{URL: srv.URL + "/404", ExpectStatus: []int{404}}, wantOK: true, wantStatus: 404},
		{name: "200 not in expect_status", spec: HTTPSpec{URL: srv.URL + "/ok", ExpectStatus: []int{204}},
			wantReason: "HTTP 200", wantStatus: 200},
		{name: "contains", spec: HTTPSpec{URL: srv.URL + "/ok", Contains: "ok"}, wantOK: true, wantStatus: 200},
		{name: "does not contain", spec: HTTPSpec{URL: srv.URL + "/ok", Contains: "healthy"},
			wantReason: `body does not contain "healthy"`, wantStatus: 200},
		{name: "slow", spec: HTTPSpec{URL: srv.URL + "/slow", MaxLatency: 100 * time.Millisecond},
			wantReason: "slow: …", wantStatus: 200},
		{name: "fast enough", spec: HTTPSpec{URL: srv.URL + "/ok", MaxLatency: 5 * time.Second}, wantOK: true, wantStatus: 200},
		{name: "2 redirects", spec: HTTPSpec{URL: srv.URL + "/r/2", Contains: "arrived"}, wantOK: true, wantStatus: 200},
		{name: "5 redirects", spec: HTTPSpec{URL: srv.URL + "/r/5"}, wantOK: true, wantStatus: 200},
		{name: "expected redirect not followed", spec: HTTPSpec{URL: srv.URL + "/r/6", ExpectStatus: []int{302}},
			wantOK: true, wantStatus: 302},
		{name: "6 redirects", spec: HTTPSpec{URL: srv.URL + "/r/6"}, wantReason: "stopped after 5 redirects"},
		{name: "timeout", spec: HTTPSpec{URL: srv.URL + "/hang"}, timeout: 200 * time.Millisecond,
			wantReason: "timeout after 200ms"},
		{name: "connection refused", spec: HTTPSpec{URL: "http://" + closedPort(t) + "/"},
			wantReason: "dial tcp 127.0.0.1:…"},
		{name: "name via stub DNS", spec: HTTPSpec{URL: "http://loop.test:" + port + "/ok"}, wantOK: true, wantStatus: 200},
		{name: "unresolvable", spec: HTTPSpec{URL: "http://nosuch.test:" + port + "/ok"},
			wantReason: "lookup nosuch.test: no such host"},
		{name: "bad URL", spec: HTTPSpec{URL: "::nope"}, wantReason: "missing protocol scheme"},
		{name: "ca_file missing", spec: HTTPSpec{URL: srv.URL + "/ok", CAFile: filepath.Join(t.TempDir(), "none.pem")},
			wantReason: "ca_file: open …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := httpTarget(tt.spec.URL)
			tg.HTTP = tt.spec
			if tt.timeout > 0 {
				tg.Timeout = tt.timeout
			}
			res := check(t, r, tg)
			if res.OK != tt.wantOK || !reasonMatches(res.Reason, tt.wantReason) {
				t.Errorf("Check = OK %v, reason %q; want OK %v, reason %q", res.OK, res.Reason, tt.wantOK, tt.wantReason)
			}
			if res.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if res.Target != "web" || res.Kind != KindHTTP || res.Time.IsZero() {
				t.Errorf("Target/Kind/Time = %q/%q/%v", res.Target, res.Kind, res.Time)
			}
			if res.OK && res.Latency <= 0 {
				t.Errorf("Latency = %v", res.Latency)
			}
		})
	}
}

// reasonMatches compares a reason exactly, or by prefix when want ends in
// "…".
func reasonMatches(got, want string) bool {
	if p, ok := strings.CutSuffix(want, "…"); ok {
		return strings.HasPrefix(got, p)
	}
	return got == want
}

func TestHTTPConnectionRefusedReason(t *testing.T) {
	addr := closedPort(t)
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	res := check(t, r, httpTarget("http://"+addr+"/"))
	if want := "dial tcp " + addr + ": connection refused"; res.Reason != want {
		t.Errorf("reason %q, want %q", res.Reason, want)
	}
}

func TestHTTPRequestSent(t *testing.T) {
	type seen struct {
		method, ua, token, host, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.UserAgent(), r.Header.Get("X-Token"), r.Host, string(b)}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		version string
		spec    HTTPSpec
		want    seen
	}{
		{name: "defaults", version: "1.2.3", spec: HTTPSpec{URL: srv.URL},
			want: seen{method: "GET", ua: "tocsin/1.2.3", host: srv.Listener.Addr().String()}},
		{name: "method, headers, body", version: "", spec: HTTPSpec{URL: srv.URL, Method: "POST",
			Headers: map[string]string{"X-Token": "s3cret", "Host": "shop.test"}, Body: `{"q":1}`},
			want: seen{method: "POST", ua: "tocsin/dev", token: "s3cret", host: "shop.test", body: `{"q":1}`}},
		{name: "user agent overridden", version: "1", spec: HTTPSpec{URL: srv.URL,
			Headers: map[string]string{"User-Agent": "probe/2"}},
			want: seen{method: "GET", ua: "probe/2", host: srv.Listener.Addr().String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, Options{ICMPMode: ICMPRaw, Version: tt.version})
			tg := httpTarget(srv.URL)
			tg.HTTP = tt.spec
			res := check(t, r, tg)
			if !res.OK || res.StatusCode != http.StatusCreated {
				t.Fatalf("Check = OK %v, %d, %q", res.OK, res.StatusCode, res.Reason)
			}
			if s := <-got; s != tt.want {
				t.Errorf("server saw %+v, want %+v", s, tt.want)
			}
		})
	}
}

func TestHTTPKeepAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("x", 10000))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	for i := range 3 {
		if res := check(t, r, httpTarget(srv.URL)); !res.OK {
			t.Fatalf("check %d: %q", i, res.Reason)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 sequential checks opened %d connections, want 1 (kept alive)", n)
	}
}

// TestHTTPKeepAliveBurst: the targets of one host whose checks fall in the
// same instant (phases share 100 ms slots) keep their connections for the
// next round instead of dialling anew.
func TestHTTPKeepAliveBurst(t *testing.T) {
	var conns atomic.Int32
	var gate sync.WaitGroup
	const burst = 24
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		gate.Done()
		gate.Wait() // every request of the round is in flight at once
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	for round := range 3 {
		gate.Add(burst)
		var wg sync.WaitGroup
		for i := range burst {
			wg.Go(func() {
				if res := check(t, r, httpTarget(fmt.Sprintf("%s/?t=%d", srv.URL, i))); !res.OK {
					t.Errorf("round %d, check %d: %q", round, i, res.Reason)
				}
			})
		}
		wg.Wait()
	}
	if n := conns.Load(); n != burst {
		t.Errorf("3 rounds of %d simultaneous checks opened %d connections, want %d (kept for the next round)", burst, n, burst)
	}
}

// selfSigned makes a self-signed CA certificate for 127.0.0.1 valid from
// notBefore to notAfter, and writes it as PEM into dir.
func selfSigned(t *testing.T, dir string, notBefore, notAfter time.Time) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tocsin test"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"loop.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, path
}

func tlsServer(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCertificate(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	soonCert, soonCA := selfSigned(t, t.TempDir(), now.Add(-day), now.Add(3*day+time.Hour))
	oldCert, _ := selfSigned(t, t.TempDir(), now.Add(-10*day), now.Add(-2*day-time.Hour))
	soon := tlsServer(t, soonCert)
	expired := tlsServer(t, oldCert)

	tests := []struct {
		name       string
		spec       HTTPSpec
		wantOK     bool
		wantReason string
		wantExpiry time.Time
	}{
		{name: "expires within cert_days", spec: HTTPSpec{URL: soon.URL, CAFile: soonCA, CertDays: 14},
			wantReason: "certificate expires in 3 days", wantExpiry: soonCert.Leaf.NotAfter},
		{name: "valid long enough", spec: HTTPSpec{URL: soon.URL, CAFile: soonCA, CertDays: 2},
			wantOK: true, wantExpiry: soonCert.Leaf.NotAfter},
		{name: "no cert_days", spec: HTTPSpec{URL: soon.URL, CAFile: soonCA},
			wantOK: true, wantExpiry: soonCert.Leaf.NotAfter},
		{name: "expired, verification skipped", spec: HTTPSpec{URL: expired.URL, InsecureSkipVerify: true, CertDays: 1},
			wantReason: "certificate expired 2 days ago", wantExpiry: oldCert.Leaf.NotAfter},
		{name: "unknown authority", spec: HTTPSpec{URL: soon.URL, CertDays: 1},
			wantReason: "tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "expired, verified", spec: HTTPSpec{URL: expired.URL, CAFile: soonCA},
			wantReason: "tls: failed to verify certificate: …"},
	}
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := httpTarget(tt.spec.URL)
			tg.HTTP = tt.spec
			res := check(t, r, tg)
			if res.OK != tt.wantOK || !reasonMatches(res.Reason, tt.wantReason) {
				t.Errorf("Check = OK %v, reason %q; want OK %v, reason %q", res.OK, res.Reason, tt.wantOK, tt.wantReason)
			}
			if !res.CertExpiry.Equal(tt.wantExpiry) {
				t.Errorf("CertExpiry = %v, want %v", res.CertExpiry, tt.wantExpiry)
			}
		})
	}
}

func TestHTTPTransportCache(t *testing.T) {
	r := newRunner(t, Options{ICMPMode: ICMPRaw})
	_, ca := selfSigned(t, t.TempDir(), time.Now(), time.Now().Add(time.Hour))
	specs := []HTTPSpec{
		{}, {InsecureSkipVerify: true}, {CAFile: ca}, {}, {InsecureSkipVerify: true}, {CAFile: ca},
	}
	var wg sync.WaitGroup
	for _, s := range specs {
		wg.Go(func() {
			if _, err := r.transport(&s); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(r.transports); n != 3 {
		t.Errorf("%d transports for 3 distinct TLS settings", n)
	}
}

func TestCertReason(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		notAfter time.Time
		days     int
		want     string
	}{
		{now.Add(30 * day), 14, ""},
		{now.Add(14 * day), 14, ""},
		{now.Add(14*day - time.Second), 14, "certificate expires in 13 days"},
		{now.Add(day + time.Hour), 14, "certificate expires in 1 day"},
		{now.Add(time.Hour), 14, "certificate expires in 0 days"},
		{now.Add(-time.Hour), 14, "certificate expired 0 days ago"},
		{now.Add(-day - time.Hour), 14, "certificate expired 1 day ago"},
		{now.Add(-5 * day), 1, "certificate expired 5 days ago"},
		{time.Time{}, 1, "no TLS certificate"},
	}
	for _, tt := range tests {
		if got := certReason(tt.notAfter, now, tt.days); got != tt.want {
			t.Errorf("certReason(now%+v, %d) = %q, want %q", tt.notAfter.Sub(now), tt.days, got, tt.want)
		}
	}
}
