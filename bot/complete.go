package bot

import (
	"sort"
	"strings"

	"github.com/tocsin/tocsin/state"
)

// MaxChoices is how many suggestions Complete returns at most (Discord
// shows 25).
const MaxChoices = 25

// Complete suggests configured target names for a command's target
// argument as the user types: names starting with prefix (case
// ignored) first, then names containing it, each group in config order,
// at most MaxChoices. An empty prefix lists the down targets first, the
// ones an on-call engineer most likely means.
func (h *Handler) Complete(prefix string) []string {
	set := h.settings()
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	type cand struct {
		name string
		rank int
		pos  int
	}
	down := map[string]bool{}
	if prefix == "" && h.state != nil {
		for _, st := range h.state.Snapshot() {
			if st.Status == state.StatusDown {
				down[st.Name] = true
			}
		}
	}
	var cands []cand
	for i, tg := range set.Targets {
		name := strings.ToLower(tg.Name)
		switch {
		case prefix == "" && down[tg.Name]:
			cands = append(cands, cand{tg.Name, 0, i})
		case strings.HasPrefix(name, prefix):
			cands = append(cands, cand{tg.Name, 1, i})
		case strings.Contains(name, prefix):
			cands = append(cands, cand{tg.Name, 2, i})
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		if cands[a].rank != cands[b].rank {
			return cands[a].rank < cands[b].rank
		}
		return cands[a].pos < cands[b].pos
	})
	out := make([]string, 0, min(len(cands), MaxChoices))
	for _, c := range cands[:min(len(cands), MaxChoices)] {
		out = append(out, c.name)
	}
	return out
}
