// Package discordhttp points Discord clients at another base URL (a REST
// proxy, a test server) without touching discordgo's package-level
// Endpoint variables, which are computed at load and shared by every
// session in the process: the HTTP client's transport rewrites each
// request aimed at https://discord.com to the configured base, keeping its
// path (/api/v9/…) and query.
package discordhttp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one request of a client made by Client with a nil
// base.
const DefaultTimeout = 15 * time.Second

// Client returns an http.Client for Discord's API at apiURL ("" means
// Discord's own, https://discord.com): a copy of base (nil: a client with
// DefaultTimeout) whose transport sends requests for discord.com to
// apiURL instead. Requests for other hosts (a webhook URL given in full,
// the gateway's websocket address) pass unchanged. It fails when apiURL is
// not an absolute http or https URL.
func Client(apiURL string, base *http.Client) (*http.Client, error) {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		c.Timeout = DefaultTimeout
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	if apiURL == "" {
		c.Transport = next
		return &c, nil
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord api_url %q: want an absolute http or https URL", apiURL)
	}
	c.Transport = &rewrite{to: u, next: next}
	return &c, nil
}

// rewrite is the transport Client installs.
type rewrite struct {
	to   *url.URL
	next http.RoundTripper
}

func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "discord.com" {
		return r.next.RoundTrip(req)
	}
	// RoundTrip must not change the caller's request: work on a clone.
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = r.to.Scheme, r.to.Host
	u.Path = strings.TrimRight(r.to.Path, "/") + req.URL.Path
	if req.URL.RawPath != "" {
		u.RawPath = strings.TrimRight(r.to.EscapedPath(), "/") + req.URL.RawPath
	}
	out.URL = &u
	out.Host = ""
	return r.next.RoundTrip(out)
}
