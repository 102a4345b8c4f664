// Command tocsin watches hosts and web services and rings the bell in chat.
//
// main only calls run; every verb, the wiring and the signal handling live
// behind it so tests can call run directly.
package main

import (
	"context"
	"os"

	// Embedded zone data: oncall time zones work on bases without
	// /usr/share/zoneinfo (the Docker image).
	_ "time/tzdata"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
