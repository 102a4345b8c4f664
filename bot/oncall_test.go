package bot

import (
	"testing"
	"time"

	"github.com/tocsin/tocsin/config"
	"github.com/tocsin/tocsin/oncall"
	"github.com/tocsin/tocsin/state"
)

// testRotation is bob, carol, alice, handing off Mondays 09:00 in
// Berlin: 2026-11-30 09:00 begins the 152nd period after the epoch,
// alice's (152 mod 3 = 2).
func testRotation(t *testing.T, people ...string) *oncall.Rotation {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if len(people) == 0 {
		people = []string{"bob", "carol", "alice"}
	}
	c := &config.Oncall{TimeZone: "Europe/Berlin", Location: berlin, Handoff: "Mon 09:00"}
	for _, p := range people {
		c.Rotation = append(c.Rotation, config.Person{Name: p, Slack: "U0" + p, Discord: "1" + p})
	}
	r := oncall.New(c)
	if r == nil {
		t.Fatal("no rotation")
	}
	return r
}

func TestOncall(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	in := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	tests := []struct {
		name    string
		people  []string // nil: testRotation's; "none": no rotation
		now     time.Time
		args    []string
		allowed bool
		want    Reply
	}{
		{name: "mid-week", now: in(2026, 12, 2, 15, 30), allowed: true,
			want: Reply{Text: "On call now: alice (until Mon 2026-12-07 09:00 CET); next: bob"}},
		{name: "the handoff minute", now: in(2026, 11, 30, 9, 0), allowed: true,
			want: Reply{Text: "On call now: alice (until Mon 2026-12-07 09:00 CET); next: bob"}},
		{name: "a minute before the handoff", now: in(2026, 11, 30, 8, 59), allowed: true,
			want: Reply{Text: "On call now: carol (until Mon 2026-11-30 09:00 CET); next: alice"}},
		{name: "a week on", now: in(2026, 12, 7, 9, 0), allowed: true,
			want: Reply{Text: "On call now: bob (until Mon 2026-12-14 09:00 CET); next: carol"}},
		{name: "summer time", now: in(2026, 7, 1, 12, 0), allowed: true,
			want: Reply{Text: "On call now: carol (until Mon 2026-07-06 09:00 CEST); next: alice"}},
		{name: "open to everyone", now: in(2026, 12, 2, 15, 30),
			want: Reply{Text: "On call now: alice (until Mon 2026-12-07 09:00 CET); next: bob"}},
		{name: "one person", people: []string{"dave"}, now: in(2026, 12, 2, 15, 30), allowed: true,
			want: Reply{Text: "On call now: dave (until Mon 2026-12-07 09:00 CET); next: dave"}},
		{name: "names escaped", people: []string{"@here", "<!channel>"}, now: in(2024, 1, 1, 9, 0), allowed: true,
			want: Reply{Text: `On call now: \x40here (until Mon 2024-01-08 09:00 CET); next: \x3c!channel\x3e`}},
		{name: "no rotation", people: []string{"none"}, now: in(2026, 12, 2, 15, 30), allowed: true,
			want: Reply{Text: "No on-call rotation is configured (oncall: in config.yaml)."}},
		{name: "words after it", now: in(2026, 12, 2, 15, 30), args: []string{"next"}, allowed: true,
			want: Reply{Text: "usage: oncall", Ephemeral: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if len(tt.people) != 1 || tt.people[0] != "none" {
				f.set.Oncall = testRotation(t, tt.people...)
			}
			f.clock.t = tt.now
			c := cmd(CmdOncall, tt.args...)
			c.Allowed = tt.allowed
			resp := f.h.Handle(t.Context(), c)
			if resp.Now != tt.want || resp.Later != nil {
				t.Errorf("got  %+v\nwant %+v", resp.Now, tt.want)
			}
			if calls := f.state.Calls(); len(calls) != 0 {
				t.Errorf("State called: %v", calls)
			}
		})
	}
}

// TestStatusOncall: the overview of /status names who is on call; one
// target's detail does not.
func TestStatusOncall(t *testing.T) {
	now := time.Date(2026, 12, 2, 14, 30, 0, 0, time.UTC) // alice's week
	up := []state.TargetState{{Name: "a", Status: state.StatusUp}}
	tests := []struct {
		name     string
		states   []state.TargetState
		args     []string
		rotation bool
		want     Reply
	}{
		{name: "overview", states: up, rotation: true,
			want: Reply{Text: "1 target: 1 up, 0 down, 0 unknown", Block: "on call: alice"}},
		{name: "overview, one down", rotation: true, states: []state.TargetState{
			{Name: "a", Status: state.StatusDown, Since: now.Add(-time.Hour), LastError: "HTTP 503"}},
			want: Reply{Text: "1 target: 0 up, 1 down, 0 unknown", Block: `a: down since 2026-12-02 13:30:00 UTC (1h)
  last error: HTTP 503
  not acknowledged
on call: alice`}},
		{name: "no targets", rotation: true,
			want: Reply{Text: "no targets configured", Block: "on call: alice"}},
		{name: "no rotation", states: up,
			want: Reply{Text: "1 target: 1 up, 0 down, 0 unknown"}},
		{name: "one target", states: up, args: []string{"a"}, rotation: true,
			want: Reply{Text: "a is up", Block: "status:     up\nlast check: never\nincident:   none\nmute:       not muted"}},
		{name: "unknown target", states: up, args: []string{"b"}, rotation: true,
			want: Reply{Text: `tocsin has no target "b"`, Ephemeral: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &fakeState{states: tt.states})
			if tt.rotation {
				f.set.Oncall = testRotation(t)
			}
			f.clock.t = now
			resp := f.h.Handle(t.Context(), cmd(CmdStatus, tt.args...))
			if resp.Now != tt.want || resp.Later != nil {
				t.Errorf("got  %q\n%s\nwant %q\n%s", resp.Now.Text, resp.Now.Block, tt.want.Text, tt.want.Block)
			}
		})
	}
}
