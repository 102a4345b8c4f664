package state

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// flapSeq builds a history from results written oldest first: '+' a
// success, '-' a failure.
func flapSeq(t *testing.T, results string) flapHistory {
	t.Helper()
	var h flapHistory
	for _, c := range results {
		switch c {
		case '+':
			h = h.add(true)
		case '-':
			h = h.add(false)
		default:
			t.Fatalf("flapSeq: %q", c)
		}
	}
	return h
}

// flapAlternating is n results, alternating, starting with a success.
func flapAlternating(n int) string {
	return strings.Repeat("+-", n/2+1)[:n]
}

// flapNagios is Nagios core's loop, written out independently of flap.go:
// over a full history of 21 states, oldest first, a change between states
// x−1 and x (x = 1…20) adds (x−1)·(1.25−0.75)/19 + 0.75, and the sum times
// 100 is divided by 20.
func flapNagios(states [21]bool) float64 {
	sum := 0.0
	for x := 1; x < 21; x++ {
		if states[x] != states[x-1] {
			sum += float64(x-1)*(1.25-0.75)/19 + 0.75
		}
	}
	return sum * 100 / 20
}

func flapNear(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestFlapPercent(t *testing.T) {
	w := func(i int) float64 { return 0.75 + float64(19-i)*0.5/19 } // weight of transition i from the newest
	for _, tc := range []struct {
		name    string
		results string
		want    float64
	}{
		{"empty", "", 0},
		{"one result", "-", 0},
		{"all ok", strings.Repeat("+", 21), 0},
		{"all ok, long", strings.Repeat("+", 500), 0},
		{"all failed", strings.Repeat("-", 21), 0},
		{"alternating 21", flapAlternating(21), 100},
		{"alternating 22", flapAlternating(22), 100},
		{"alternating 1000", flapAlternating(1000), 100},
		{"one change, newest", strings.Repeat("+", 20) + "-", 1.25 * 100 / 20},
		{"one change, oldest", "-" + strings.Repeat("+", 20), 0.75 * 100 / 20},
		{"one change, middle", strings.Repeat("-", 10) + strings.Repeat("+", 11), w(10) * 5},
		{"a change scrolled out", "-" + strings.Repeat("+", 21), 0},
		{"one blip", strings.Repeat("+", 10) + "-" + strings.Repeat("+", 10), (w(9) + w(10)) * 5},
		{"two changes, newest", strings.Repeat("+", 19) + "-+", (w(0) + w(1)) * 5},
		// Young histories: only the transitions seen, still over 20.
		{"young, one change", "+-", 1.25 * 100 / 20},
		{"young, starts failed", "-", 0},
		{"young, starts failed then ok", "-++", w(1) * 5},
		{"young, two changes", "+-+", (w(0) + w(1)) * 5},
		{"young, alternating 9", flapAlternating(9), 46.315789473684205},
		{"young, alternating 10", flapAlternating(10), 51.51315789473684},
		{"young, alternating 11", flapAlternating(11), 56.578947368421055},
	} {
		got := flapSeq(t, tc.results).percent()
		if !flapNear(got, tc.want) {
			t.Errorf("%s (%s): percent = %v, want %v", tc.name, tc.results, got, tc.want)
		}
	}
}

// A state change weighs more the more recent it is: 1.25 at the newest
// transition down to 0.75 at the oldest, linearly.
func TestFlapNewestWeighsMore(t *testing.T) {
	prev := math.Inf(1)
	for i := range 20 { // a single change at transition i from the newest
		results := strings.Repeat("+", 20-i) + strings.Repeat("-", i+1)
		got := flapSeq(t, results).percent()
		if got >= prev {
			t.Errorf("change at transition %d: %v, not below %v (one newer)", i, got, prev)
		}
		prev = got
	}
	newest := flapSeq(t, strings.Repeat("+", 20)+"-").percent()
	oldest := flapSeq(t, "-"+strings.Repeat("+", 20)).percent()
	if !flapNear(newest, 6.25) || !flapNear(oldest, 3.75) || newest <= oldest {
		t.Errorf("newest %v, oldest %v; want 6.25 > 3.75", newest, oldest)
	}
}

// On a full history percent is exactly Nagios core's.
func TestFlapMatchesNagios(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var h flapHistory
		past := rng.IntN(30) // results that have scrolled out already
		for range past {
			h = h.add(rng.IntN(2) == 0)
		}
		var states [21]bool
		for i := range states {
			states[i] = rng.IntN(3) == 0 // failed
			h = h.add(!states[i])
		}
		if got, want := h.percent(), flapNagios(states); !flapNear(got, want) {
			t.Fatalf("%v: percent = %v, Nagios %v", states, got, want)
		}
	}
}

func TestFlapHistoryValue(t *testing.T) {
	if s := unsafe.Sizeof(flapHistory{}); s > 8 {
		t.Errorf("flapHistory is %d bytes", s)
	}
	// add leaves its receiver alone.
	h := flapSeq(t, "+-+")
	before := h
	_ = h.add(false)
	if h != before {
		t.Errorf("add changed its receiver: %+v → %+v", before, h)
	}
	// The same last 21 results make equal histories, whatever came before.
	tail := flapAlternating(21)
	a := flapSeq(t, strings.Repeat("-", 40)+tail)
	b := flapSeq(t, "+"+tail)
	if a != b {
		t.Errorf("same last 21 results, unequal: %+v, %+v", a, b)
	}
	// Fewer results are a different history.
	if c := flapSeq(t, tail[1:]); c == a {
		t.Errorf("20 results equal to 21: %+v", c)
	}
	var zero flapHistory
	if zero.percent() != 0 || zero.add(true).percent() != 0 {
		t.Error("an empty history has a percent state change")
	}
}

func TestFlapping(t *testing.T) {
	for _, tc := range []struct {
		name           string
		was            bool
		pct, high, low float64
		want           bool
	}{
		{"steady", false, 0, 50, 25, false},
		{"rising, below low", false, 10, 50, 25, false},
		{"rising, between", false, 40, 50, 25, false},
		{"rising, at high", false, 50, 50, 25, true},
		{"rising, past high", false, 70, 50, 25, true},
		{"flapping, above high", true, 90, 50, 25, true},
		{"flapping, hovering just below high", true, 49.9, 50, 25, true},
		{"flapping, hovering at low", true, 25, 50, 25, true},
		{"flapping, under low", true, 24.9, 50, 25, false},
		{"flapping, stable", true, 0, 50, 25, false},
		{"not flapping, hovering", false, 30, 50, 25, false},
		{"not flapping, at low", false, 25, 50, 25, false},
		{"low = high, at it", false, 50, 50, 50, true},
		{"low = high, under", true, 49, 50, 50, false},
		{"flap_low 0%, stable", true, 0, 50, 0, false},
		{"flap_low 0%, one change", true, 3.75, 50, 0, true},
		{"flap_high 0%, stable", false, 0, 0, 0, false},
		{"flap_high 0%, a change", false, 3.75, 0, 0, true},
		{"flap_high 100%", false, 100, 100, 50, true},
		{"flap_high 100%, almost", false, 99, 100, 50, false},
	} {
		if got := flapping(tc.was, tc.pct, tc.high, tc.low); got != tc.want {
			t.Errorf("%s: flapping(%v, %v, high %v, low %v) = %v, want %v",
				tc.name, tc.was, tc.pct, tc.high, tc.low, got, tc.want)
		}
	}
}

// A target that starts flapping and settles again: the verdict changes
// twice, once rising past 50% and once falling under 25%, and not again.
func TestFlapHysteresisOverTime(t *testing.T) {
	const high, low = 50, 25
	results := strings.Repeat("+", 30) + flapAlternating(30) + strings.Repeat("+", 30)
	var (
		h       flapHistory
		was     bool
		changes []int
	)
	for i, c := range results {
		h = h.add(c == '+')
		pct := h.percent()
		now := flapping(was, pct, high, low)
		if now != was {
			changes = append(changes, i)
			if now && pct < high || !now && pct >= low {
				t.Errorf("result %d: %v at %.1f%%", i, now, pct)
			}
		}
		if now && pct < low || !now && pct >= high {
			t.Errorf("result %d: flapping %v at %.1f%%", i, now, pct)
		}
		was = now
	}
	if len(changes) != 2 || changes[0] < 30 || changes[0] >= 60 || changes[1] < 60 {
		t.Fatalf("verdict changed at results %v; want once in the alternation, once after", changes)
	}
	// 10 results of alternation (9 changes) make 51.5%: the 10th is the first
	// flapping one. After it, the percent falls as changes age and scroll out.
	if changes[0] != 30+9 {
		t.Errorf("started flapping at result %d, want 39", changes[0])
	}
}
