package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	Path string // the file as given
	Line int    // 1-based; 0 when unknown
	// Key is a YAML path with 0-based indexes: targets[2].timeout.
	Key     string
	Message string
}

// String formats p as DESIGN.md's PATH:LINE: KEY: problem.
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.Path, p.Line, p.Key, p.Message)
}

// Error is every problem found in a config file, in file order.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads, expands, defaults and validates the file at path. getenv
// expands ${VAR}; nil means "every variable unset". On any problem it
// returns an *Error holding all of them (a missing or unreadable file is
// one Problem with Line 0).
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{Problems: []Problem{{Path: path, Line: 0, Key: "file", Message: "cannot read: " + err.Error()}}}
	}
	return Parse(path, data, getenv)
}

// Parse is Load on bytes already read; path is used in messages and its
// directory anchors relative ca_file paths.
//
// A YAML syntax error is one Problem (Key "yaml") at its line; a document
// that is not a mapping is one Problem (Key "config"). Otherwise every
// problem is collected: unknown keys, bad values, unset ${VAR}s, missing
// required keys, duplicate names, unknown or cyclic depends_on. No message
// holds a secret or a value that came from the environment.
func Parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	d := &decoder{path: path, dir: filepath.Dir(path), getenv: getenv}
	root, sp := buildTree(data)
	if sp != nil {
		return nil, &Error{Problems: []Problem{{Path: path, Line: sp.line, Key: "yaml", Message: sp.msg}}}
	}
	if root == nil {
		root = &node{kind: nullNode, line: 1}
	}
	if root.kind != mapNode && root.kind != nullNode {
		return nil, &Error{Problems: []Problem{{Path: path, Line: root.line, Key: "config", Message: "must be a mapping of the keys in DESIGN.md, not " + root.kind.String()}}}
	}
	cfg := &Config{
		Path:          path,
		Listen:        defaultListen,
		State:         defaultState,
		MaxConcurrent: defaultMaxConcurrent,
		ICMPSocket:    ICMPShared,
		Bot:           Bot{RateLimit: defaultRateLimit, RatePer: defaultRatePer},
	}
	top := map[string]entry{}
	keys := []string{"listen", "state", "results_log", "max_concurrent", "icmp_socket", "resolver", "defaults",
		"targets", "bot", "oncall", "maintenance", "slack", "discord"}
	d.fields(root, "", keys, func(e entry, k string) { top[e.key] = e })

	if e, ok := top["listen"]; ok {
		setIf(&cfg.Listen)(d.address(e.val, "listen", 0, true))
	}
	if e, ok := top["state"]; ok {
		setIf(&cfg.State)(d.required(e.val, "state"))
	}
	if e, ok := top["results_log"]; ok {
		setIf(&cfg.ResultsLog)(d.str(e.val, "results_log"))
	}
	if e, ok := top["max_concurrent"]; ok {
		setIf(&cfg.MaxConcurrent)(d.integer(e.val, "max_concurrent", 1, math.MaxInt))
	}
	if e, ok := top["icmp_socket"]; ok {
		if s, good := d.str(e.val, "icmp_socket"); good {
			switch s {
			case "", ICMPShared:
			case ICMPPerCheck:
				cfg.ICMPSocket = ICMPPerCheck
			default:
				d.add(e.val.line, "icmp_socket", "%q is not %q or %q", s, ICMPShared, ICMPPerCheck)
			}
		}
	}
	if e, ok := top["resolver"]; ok {
		if s, good := d.str(e.val, "resolver"); good && strings.TrimSpace(s) != "" {
			setIf(&cfg.Resolver)(d.address(e.val, "resolver", 1, false))
		}
	}
	defaults := top["defaults"].val
	if defaults == nil {
		defaults = &node{kind: nullNode}
	}
	tmpl := d.defaults(defaults)
	if e, ok := top["targets"]; ok {
		cfg.Targets = d.targets(e.val, tmpl, defaults)
	}
	if e, ok := top["bot"]; ok {
		cfg.Bot = d.bot(e.val)
	}
	if e, ok := top["oncall"]; ok {
		cfg.Oncall = d.oncall(sectionNode(e), "oncall")
	}
	if e, ok := top["maintenance"]; ok {
		names := map[string]bool{}
		for _, t := range cfg.Targets {
			names[t.Name] = true
		}
		cfg.Maintenance = d.maintenance(e.val, names)
	}
	if e, ok := top["slack"]; ok {
		cfg.Slack = d.slack(sectionNode(e), "slack")
	}
	if e, ok := top["discord"]; ok {
		cfg.Discord = d.discord(sectionNode(e), "discord")
	}
	if len(d.problems) > 0 {
		return nil, &Error{Problems: d.sorted()}
	}
	return cfg, nil
}

// sectionNode is e's value placed on the key's line, so a section's own
// problems ("bot_token: required") point at `slack:`, not its first key.
func sectionNode(e entry) *node {
	c := *e.val
	c.line = e.line
	return &c
}
