//go:build !linux

package checks

import "errors"

// openEchoConn is Linux-only; elsewhere ping checks use one pro-bing
// Pinger each (Options.PerCheckICMP is forced).
func openEchoConn(ICMPMode, int) (echoConn, error) {
	return nil, errors.New("shared ICMP sockets are supported on Linux only")
}

const sharedICMPSupported = false
