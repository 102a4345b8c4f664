package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Exit codes, as DESIGN.md gives them.
const (
	exitOK   = 0 // all up, success
	exitDown = 1 // something down, no reply, not healthy
	exitBad  = 2 // bad config or usage, ICMP not permitted, unusable state, unresolvable ping host
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build info.
var version = ""

func tocsinVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

const usage = `usage:
  tocsin run      [--config F]                       the daemon
  tocsin check    [--config F] [--json]              every check once, a table, exit
  tocsin ping     HOST [--count N] [--timeout D]     ICMP echo from the terminal
  tocsin validate [--config F]                       check the config, exit
  tocsin health   [--config F]                       GET /healthz on listen: exit 0 ok, 1 not
  tocsin version

Every verb takes --log-level debug|info|warn|error and --log-format text|json.
--config defaults to $TOCSIN_CONFIG, else ./config.yaml.
Exit codes: 0 all up / success, 1 something down / no reply,
2 bad config, bad usage, ICMP not permitted, unusable state file, unresolvable ping host.
`

// env is what every verb is handed: the streams, the environment and the
// logger built from the common flags.
type env struct {
	// started is when run began, before the config was read: the epoch
	// of "first checked within one interval of start".
	started time.Time
	getenv  func(string) string
	stdout  io.Writer
	stderr  io.Writer
	log     *slog.Logger
}

// common holds the flags every verb shares.
type common struct {
	config    string
	logLevel  string
	logFormat string
}

func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	def := getenv("TOCSIN_CONFIG")
	if def == "" {
		def = "config.yaml"
	}
	fs.StringVar(&c.config, "config", def, "config file")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "text or json")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
}

// parseInterleaved parses args with fs, letting flags stand before or after
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// verb is one CLI verb: its extra flags are registered on fs, and do runs it
// with the positional arguments.
type verb struct {
	flags func(fs *flag.FlagSet)
	do    func(ctx context.Context, e *env, c *common, pos []string) int
	// positional: how many positional arguments the verb takes.
	positional int
}

// verbs returns the CLI verbs; each call makes fresh flag variables.
func verbs() map[string]*verb {
	var jsonOut bool
	var po pingOptions
	return map[string]*verb{
		"run": {do: cmdRun},
		"check": {
			flags: func(fs *flag.FlagSet) { fs.BoolVar(&jsonOut, "json", false, "print JSON only") },
			do: func(ctx context.Context, e *env, c *common, _ []string) int {
				return cmdCheck(ctx, e, c, jsonOut)
			},
		},
		"ping": {
			flags: po.register,
			do: func(ctx context.Context, e *env, c *common, pos []string) int {
				return cmdPing(ctx, e, c, pos[0], po)
			},
			positional: 1,
		},
		"validate": {do: cmdValidate},
		"health":   {do: cmdHealth},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	started := time.Now()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBad
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "tocsin %s (%s %s/%s)\n", tocsinVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
	v, ok := verbs()[name]
	if !ok {
		fmt.Fprintf(stderr, "tocsin: unknown command %q\n\n%s", name, usage)
		return exitBad
	}
	fs := flag.NewFlagSet("tocsin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	if v.flags != nil {
		v.flags(fs)
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitBad
	}
	if len(pos) != v.positional {
		if v.positional == 0 {
			fmt.Fprintf(stderr, "tocsin %s: unexpected argument %q\n", name, strings.Join(pos, " "))
		} else {
			fmt.Fprintf(stderr, "tocsin %s: want %d argument(s), got %d\n", name, v.positional, len(pos))
		}
		return exitBad
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "tocsin %s: %v\n", name, err)
		return exitBad
	}
	return v.do(ctx, &env{started: started, getenv: getenv, stdout: stdout, stderr: stderr, log: log}, &c, pos)
}
