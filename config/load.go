package config

import (
	"fmt"
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
	panic("unimplemented")
}

// Parse is Load on bytes already read; path is used in messages.
func Parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	panic("unimplemented")
}
