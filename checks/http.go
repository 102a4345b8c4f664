package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	// maxRedirects is how many redirects a check follows.
	maxRedirects = 5
	// maxBody is how much of a body is read to look for `contains`.
	maxBody = 1 << 20
	// maxDrain is how much of an unread body is drained so its connection
	// can be reused; a longer body closes the connection instead.
	maxDrain = 64 << 10
)

// Idle connections kept for the next checks: at most maxIdleConns in all
// (each costs a descriptor and about 30 KB), maxIdlePerHost per host.
const (
	maxIdleConns   = 1024
	maxIdlePerHost = 64
)

// errTooManyRedirects is what CheckRedirect returns past maxRedirects.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", maxRedirects)

// tlsKey selects a Transport: the zero key is the shared one.
type tlsKey struct {
	insecure bool
	caFile   string
}

// transport returns the Transport for a target's TLS settings, creating it
// on first use. Every Transport dials through the Runner's resolver. An
// unreadable or empty ca_file is an error (not cached: a fixed file works
// on the next check).
func (r *Runner) transport(spec *HTTPSpec) (*http.Transport, error) {
	key := tlsKey{insecure: spec.InsecureSkipVerify, caFile: spec.CAFile}
	r.mu.Lock()
	defer r.mu.Unlock()
	if tr, ok := r.transports[key]; ok {
		return tr, nil
	}
	var tlsConf *tls.Config
	if key != (tlsKey{}) {
		tlsConf = &tls.Config{InsecureSkipVerify: key.insecure}
		if key.caFile != "" {
			pem, err := os.ReadFile(key.caFile)
			if err != nil {
				return nil, fmt.Errorf("ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", key.caFile)
			}
			tlsConf.RootCAs = pool
		}
	}
	tr := r.newTransport(tlsConf)
	r.transports[key] = tr
	return tr, nil
}

// newTransport is a Transport tuned for many targets, checked again and
// again: a connection is kept for the next check of the same host (when
// the server allows) up to a bound on them all, and up to a bound per host
// that lets the targets of one host (virtual hosts, paths) whose checks
// fall in the same instant reuse theirs rather than dial anew. It uses no
// proxy: a check measures the target, not a proxy's view of it.
func (r *Runner) newTransport(tlsConf *tls.Config) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialAddrs(ctx, r.resolver, network, addr)
		},
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdlePerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// checkHTTP is the KindHTTP check: one request, redirects followed up to
// maxRedirects (none when ExpectStatus names a 3xx code: then the redirect
// is the answer judged), then status, body keyword, latency and
// certificate judged in that order; the first failure is the reason.
func (r *Runner) checkHTTP(ctx context.Context, t *Target) Result {
	start := time.Now()
	spec := &t.HTTP
	tr, err := r.transport(spec)
	if err != nil {
		return Result{Reason: err.Error()}
	}
	timeout := timeoutOf(t)
	checkCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if spec.Body != "" {
		body = strings.NewReader(spec.Body)
	}
	req, err := http.NewRequestWithContext(checkCtx, method, spec.URL, body)
	if err != nil {
		return Result{Reason: reasonOf(err)}
	}
	req.Header.Set("User-Agent", r.ua)
	for k, v := range spec.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	// A target that expects a 3xx wants to see the redirect itself.
	noFollow := slices.ContainsFunc(spec.ExpectStatus, func(c int) bool { return c >= 300 && c < 400 })
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if noFollow {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return errTooManyRedirects
			}
			return nil
		},
	}

	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, errTooManyRedirects) {
			return Result{Reason: errTooManyRedirects.Error()}
		}
		return Result{Reason: failReason(ctx, checkCtx, timeout, err)}
	}
	defer resp.Body.Close()

	res := Result{StatusCode: resp.StatusCode}
	var found bool
	if spec.Contains != "" {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			res.Reason = "reading body: " + failReason(ctx, checkCtx, timeout, err)
			return res
		}
		found = strings.Contains(string(b), spec.Contains)
	} else {
		// Draining lets the connection go back to the idle pool; an error
		// here only costs that reuse.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	res.Latency = time.Since(start)
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		res.CertExpiry = resp.TLS.PeerCertificates[0].NotAfter
	}

	switch {
	case !statusOK(resp.StatusCode, spec.ExpectStatus):
		res.Reason = fmt.Sprintf("HTTP %d", resp.StatusCode)
	case spec.Contains != "" && !found:
		res.Reason = fmt.Sprintf("body does not contain %q", spec.Contains)
	case spec.MaxLatency > 0 && res.Latency > spec.MaxLatency:
		res.Reason = fmt.Sprintf("slow: %s > %s", roundDuration(res.Latency), roundDuration(spec.MaxLatency))
	case spec.CertDays > 0 && resp.TLS != nil:
		res.Reason = certReason(res.CertExpiry, r.now(), spec.CertDays)
	}
	res.OK = res.Reason == ""
	return res
}

// statusOK reports whether code passes: one of expect, or any 2xx/3xx when
// expect is empty.
func statusOK(code int, expect []int) bool {
	if len(expect) == 0 {
		return code >= 200 && code < 400
	}
	return slices.Contains(expect, code)
}

// certReason is why a certificate expiring at notAfter fails a check that
// wants it valid days more days at now, or "" when it passes.
func certReason(notAfter, now time.Time, days int) string {
	if notAfter.IsZero() {
		return "no TLS certificate"
	}
	left := notAfter.Sub(now)
	if left >= time.Duration(days)*24*time.Hour {
		return ""
	}
	if left < 0 {
		return "certificate expired " + plural(int(-left/(24*time.Hour)), "day") + " ago"
	}
	return "certificate expires in " + plural(int(left/(24*time.Hour)), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
