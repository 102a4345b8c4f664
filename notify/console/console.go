// Package console is the always-on notifier: one line per event on stdout,
// `EVENT NAME reason…`, as DESIGN.md gives it.
package console

import (
	"context"
	"io"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

// Notifier writes event lines to an io.Writer.
type Notifier struct {
	w io.Writer
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns a console notifier writing to w.
func New(w io.Writer) *Notifier {
	panic("unimplemented")
}

// Line renders ev as its console line, without the newline.
func Line(ev state.Event) string {
	panic("unimplemented")
}

func (n *Notifier) Name() string { return "console" }

func (n *Notifier) Post(ctx context.Context, ev state.Event) (notify.Ref, error) {
	panic("unimplemented")
}

func (n *Notifier) Edit(ctx context.Context, ref notify.Ref, ev state.Event) error {
	panic("unimplemented")
}

func (n *Notifier) Reply(ctx context.Context, ref notify.Ref, ev state.Event) (notify.Ref, error) {
	panic("unimplemented")
}
