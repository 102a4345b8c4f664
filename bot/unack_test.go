package bot

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/state"
)

func TestUnack(t *testing.T) {
	down := state.TargetState{Name: "shop", Status: state.StatusDown, Since: t0.Add(-time.Hour),
		LastError: "HTTP 503", IncidentID: 42}
	acked := down
	acked.AckedBy, acked.AckedAt = "bob", t0.Add(-10*time.Minute)
	answer := func(ts state.TargetState, err error) func(string, string) (state.TargetState, error) {
		return func(string, string) (state.TargetState, error) { return ts, err }
	}
	notAllowed := cmd(CmdUnack, "shop")
	notAllowed.Allowed = false
	tests := []struct {
		name      string
		cmd       Command
		unack     func(string, string) (state.TargetState, error)
		want      Reply
		wantCall  string // "" means State.Unack is not called
		wantInLog string
	}{
		{name: "unack", cmd: cmd(CmdUnack, "shop"), unack: answer(down, nil),
			want:     Reply{Text: "alice withdrew the acknowledgement of shop; reminders resume"},
			wantCall: `unack "shop" "alice"`, wantInLog: "bot: unack"},
		{name: "by the user's id when it has no name", cmd: Command{Platform: "discord", Name: CmdUnack,
			Args: []string{"shop"}, User: User{ID: "5001"}, Allowed: true}, unack: answer(down, nil),
			want:     Reply{Text: "5001 withdrew the acknowledgement of shop; reminders resume"},
			wantCall: `unack "shop" "5001"`},
		{name: "the fake's default", cmd: cmd(CmdUnack, "shop"),
			want:     Reply{Text: "alice withdrew the acknowledgement of shop; reminders resume"},
			wantCall: `unack "shop" "alice"`},
		{name: "not acknowledged", cmd: cmd(CmdUnack, "shop"), unack: answer(down, state.ErrNotAcked),
			want:     Reply{Text: "shop is not acknowledged", Ephemeral: true},
			wantCall: `unack "shop" "alice"`},
		{name: "not acknowledged, wrapped", cmd: cmd(CmdUnack, "shop"), unack: answer(down, fmt.Errorf("state: %w", state.ErrNotAcked)),
			want:     Reply{Text: "shop is not acknowledged", Ephemeral: true},
			wantCall: `unack "shop" "alice"`},
		{name: "not down", cmd: cmd(CmdUnack, "shop"),
			unack:    answer(state.TargetState{Name: "shop", Status: state.StatusUp}, state.ErrNotDown),
			want:     Reply{Text: "shop is not down; there is no acknowledgement to withdraw", Ephemeral: true},
			wantCall: `unack "shop" "alice"`},
		{name: "unknown target", cmd: cmd(CmdUnack, "nope"),
			want:     Reply{Text: `tocsin has no target "nope"`, Ephemeral: true},
			wantCall: `unack "nope" "alice"`},
		{name: "unknown target quoted", cmd: cmd(CmdUnack, "<!here>"),
			want:     Reply{Text: `tocsin has no target "\x3c!here\x3e"`, Ephemeral: true},
			wantCall: `unack "<!here>" "alice"`},
		{name: "internal error", cmd: cmd(CmdUnack, "shop"),
			unack:    answer(acked, errors.New("state: unack shop: commit: database is locked")),
			want:     Reply{Text: "tocsin could not record that; see its log", Ephemeral: true},
			wantCall: `unack "shop" "alice"`, wantInLog: "database is locked"},
		{name: "not allowed", cmd: notAllowed, want: Reply{Text: "you are not allowed to unack", Ephemeral: true}},
		{name: "no target", cmd: cmd(CmdUnack), want: Reply{Text: "usage: unack TARGET", Ephemeral: true}},
		{name: "empty target", cmd: cmd(CmdUnack, ""), want: Reply{Text: "usage: unack TARGET", Ephemeral: true}},
		{name: "two targets", cmd: cmd(CmdUnack, "shop", "db"), want: Reply{Text: "usage: unack TARGET", Ephemeral: true}},
		{name: "any case", cmd: cmd("UNACK", "shop"), unack: answer(down, nil),
			want:     Reply{Text: "alice withdrew the acknowledgement of shop; reminders resume"},
			wantCall: `unack "shop" "alice"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeState{states: []state.TargetState{acked}, unack: tt.unack}
			f := newFixture(t, fs)
			resp := f.h.Handle(t.Context(), tt.cmd)
			if resp.Now != tt.want || resp.Later != nil {
				t.Errorf("got  %+v\nwant %+v", resp.Now, tt.want)
			}
			calls := fs.Calls()
			switch {
			case tt.wantCall == "" && len(calls) != 0:
				t.Errorf("State called: %v", calls)
			case tt.wantCall != "" && (len(calls) != 1 || calls[0] != tt.wantCall):
				t.Errorf("State calls %v, want [%s]", calls, tt.wantCall)
			}
			if tt.wantInLog != "" && !strings.Contains(f.log.String(), tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, f.log.String())
			}
		})
	}
}
