// Package deps pins the modules tocsin's packages are being built on.
package deps

import (
	_ "github.com/goccy/go-yaml"
	_ "github.com/prometheus-community/pro-bing"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/robfig/cron/v3"
	_ "golang.org/x/net/icmp"
	_ "modernc.org/sqlite"
)
