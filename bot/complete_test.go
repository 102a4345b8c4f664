package bot

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

func TestComplete(t *testing.T) {
	names := []string{"web-1", "web-2", "shop", "db-web", "DNS"}
	var targets []checks.Target
	for _, n := range names {
		targets = append(targets, checks.Target{Name: n, Kind: checks.KindTCP, TCP: checks.TCPSpec{Address: "127.0.0.1:1"}})
	}
	st := &fakeState{states: []state.TargetState{{Name: "web-1", Status: state.StatusUp}, {Name: "shop", Status: state.StatusDown}}}
	h := NewHandler(Options{State: st, Settings: func() Settings { return Settings{Targets: targets} }})
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"shop", "web-1", "web-2", "db-web", "DNS"}},
		{"web", []string{"web-1", "web-2", "db-web"}},
		{"WEB-2", []string{"web-2"}},
		{"dn", []string{"DNS"}},
		{"zzz", []string{}},
	}
	for _, tc := range tests {
		if got := h.Complete(tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("Complete(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}

	// At most MaxChoices.
	targets = nil
	for i := range 40 {
		targets = append(targets, checks.Target{Name: fmt.Sprintf("host-%02d", i)})
	}
	if got := h.Complete("host"); len(got) != MaxChoices || got[0] != "host-00" {
		t.Errorf("Complete over 40 targets = %d names starting %q", len(got), got[0])
	}
}
