package checks

import (
	"net"
	"net/url"
	"strings"
)

// hostOfURL returns the host of a URL without port or brackets, or "".
func hostOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// hostOfAddr returns the host of a host:port address without brackets.
func hostOfAddr(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return strings.Trim(addr, "[]")
	}
	return host
}
