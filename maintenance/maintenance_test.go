package maintenance

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on any machine

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/config"
)

var (
	db   = checks.Target{Name: "db", Tags: []string{"storage"}}
	web1 = checks.Target{Name: "web-1", Tags: []string{"edge", "eu"}}
	shop = checks.Target{Name: "shop"}
)

func mustNew(t *testing.T, ws ...config.Maintenance) *Windows {
	t.Helper()
	w, err := New(ws)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w
}

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// probe is one question to Active and its expected answer.
type probe struct {
	at     time.Time
	target checks.Target
	name   string // "" = not in maintenance
	until  time.Time
}

func check(t *testing.T, w *Windows, probes []probe) {
	t.Helper()
	for _, p := range probes {
		name, until, ok := w.Active(p.target, p.at)
		if ok != (p.name != "") || name != p.name || ok && !until.Equal(p.until) {
			t.Errorf("Active(%s, %s) = %q, %s, %v; want %q, %s, %v",
				p.target.Name, p.at.Format(time.RFC3339Nano), name, until, ok,
				p.name, p.until, p.name != "")
		}
	}
}

// Specs without CRON_TZ are read in time.Local, so these times are local
// too; mid-January has no DST change in any zone's small hours.
func local(h, m, s, ns int) time.Time {
	return time.Date(2026, 1, 15, h, m, s, ns, time.Local)
}

func TestNightly(t *testing.T) {
	w := mustNew(t, config.Maintenance{Name: "nightly-backup", Schedule: "0 2 * * *",
		Duration: 30 * time.Minute, Targets: []string{"db"}})
	end := local(2, 30, 0, 0)
	check(t, w, []probe{
		{at: local(1, 59, 59, 0), target: db},
		{at: local(1, 59, 59, 999_999_999), target: db},
		{at: local(2, 0, 0, 0), target: db, name: "nightly-backup", until: end},
		{at: local(2, 0, 0, 1), target: db, name: "nightly-backup", until: end},
		{at: local(2, 15, 0, 0), target: db, name: "nightly-backup", until: end},
		{at: local(2, 29, 59, 0), target: db, name: "nightly-backup", until: end},
		{at: local(2, 29, 59, 999_999_999), target: db, name: "nightly-backup", until: end},
		{at: local(2, 30, 0, 0), target: db},
		{at: local(14, 0, 0, 0), target: db},
		// The day before's window, a day earlier.
		{at: local(2, 10, 0, 0).AddDate(0, 0, -1), target: db, name: "nightly-backup",
			until: end.AddDate(0, 0, -1)},
		// Not one of its targets.
		{at: local(2, 10, 0, 0), target: shop},
	})
}

func TestSecondsAndDescriptors(t *testing.T) {
	w := mustNew(t,
		config.Maintenance{Name: "six", Schedule: "30 0 3 * * *", Duration: time.Minute, Targets: []string{"db"}},
		config.Maintenance{Name: "hourly", Schedule: "@hourly", Duration: 5 * time.Minute, Targets: []string{"shop"}},
	)
	check(t, w, []probe{
		{at: local(3, 0, 29, 0), target: db},
		{at: local(3, 0, 30, 0), target: db, name: "six", until: local(3, 1, 30, 0)},
		{at: local(3, 1, 29, 0), target: db, name: "six", until: local(3, 1, 30, 0)},
		{at: local(3, 1, 30, 0), target: db},
		{at: local(7, 4, 59, 0), target: shop, name: "hourly", until: local(7, 5, 0, 0)},
		{at: local(7, 5, 0, 0), target: shop},
		{at: local(7, 59, 59, 0), target: shop},
	})
}

// The location of at changes nothing but that of until.
func TestLocationOfAt(t *testing.T) {
	w := mustNew(t, config.Maintenance{Name: "utc", Schedule: "CRON_TZ=UTC 0 2 * * *", Duration: time.Hour})
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2026, 1, 15, 2, 30, 0, 0, time.UTC).In(tokyo)
	name, until, ok := w.Active(shop, at)
	if !ok || name != "utc" || !until.Equal(time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC)) {
		t.Fatalf("Active = %q, %v, %v", name, until, ok)
	}
	if until.Location() != tokyo {
		t.Errorf("until in %v, want at's location", until.Location())
	}

	// A spec without a zone is read in time.Local whatever at's location.
	w = mustNew(t, config.Maintenance{Name: "nightly", Schedule: "0 2 * * *", Duration: time.Hour})
	for _, loc := range []*time.Location{time.UTC, tokyo, time.Local} {
		if name, _, ok := w.Active(shop, local(2, 30, 0, 0).In(loc)); !ok || name != "nightly" {
			t.Errorf("at in %v: Active = %q, %v; want nightly", loc, name, ok)
		}
	}
}

func TestOverlapLatestEnd(t *testing.T) {
	short := config.Maintenance{Name: "short", Schedule: "0 2 * * *", Duration: 30 * time.Minute}
	long := config.Maintenance{Name: "long", Schedule: "15 2 * * *", Duration: time.Hour}
	longFirst := config.Maintenance{Name: "long-first", Schedule: "0 1 * * *", Duration: 3 * time.Hour}
	same := config.Maintenance{Name: "same", Schedule: "0 2 * * *", Duration: 30 * time.Minute}

	check(t, mustNew(t, short, long), []probe{
		{at: local(2, 10, 0, 0), target: db, name: "short", until: local(2, 30, 0, 0)},
		{at: local(2, 20, 0, 0), target: db, name: "long", until: local(3, 15, 0, 0)},
		{at: local(2, 40, 0, 0), target: db, name: "long", until: local(3, 15, 0, 0)},
	})
	// The window that started first but ends last wins; order does not matter.
	check(t, mustNew(t, longFirst, short, long), []probe{
		{at: local(2, 20, 0, 0), target: db, name: "long-first", until: local(4, 0, 0, 0)},
	})
	check(t, mustNew(t, long, short, longFirst), []probe{
		{at: local(2, 20, 0, 0), target: db, name: "long-first", until: local(4, 0, 0, 0)},
	})
	// A tie goes to the first in config order.
	check(t, mustNew(t, short, same), []probe{
		{at: local(2, 20, 0, 0), target: db, name: "short", until: local(2, 30, 0, 0)},
	})
	check(t, mustNew(t, same, short), []probe{
		{at: local(2, 20, 0, 0), target: db, name: "same", until: local(2, 30, 0, 0)},
	})
	// Overlap only counts for windows that apply to the target.
	onlyShop := long
	onlyShop.Targets = []string{"shop"}
	check(t, mustNew(t, short, onlyShop), []probe{
		{at: local(2, 20, 0, 0), target: db, name: "short", until: local(2, 30, 0, 0)},
		{at: local(2, 20, 0, 0), target: shop, name: "long", until: local(3, 15, 0, 0)},
	})
}

func TestWhichTargets(t *testing.T) {
	mk := func(name string, targets, tags []string) config.Maintenance {
		return config.Maintenance{Name: name, Schedule: "0 2 * * *", Duration: time.Hour,
			Targets: targets, Tags: tags}
	}
	at := local(2, 30, 0, 0)
	for _, tc := range []struct {
		win  config.Maintenance
		want map[string]bool
	}{
		{mk("all", nil, nil), map[string]bool{"db": true, "web-1": true, "shop": true}},
		{mk("empty", []string{}, []string{}), map[string]bool{"db": true, "web-1": true, "shop": true}},
		{mk("by-name", []string{"db"}, nil), map[string]bool{"db": true}},
		{mk("by-names", []string{"db", "shop"}, nil), map[string]bool{"db": true, "shop": true}},
		{mk("by-tag", nil, []string{"edge"}), map[string]bool{"web-1": true}},
		{mk("by-any-tag", nil, []string{"nope", "eu"}), map[string]bool{"web-1": true}},
		{mk("by-tags", nil, []string{"eu", "storage"}), map[string]bool{"web-1": true, "db": true}},
		{mk("unknown-tag", nil, []string{"nope"}), map[string]bool{}},
		// Names and tags: either one suffices.
		{mk("both", []string{"shop"}, []string{"storage"}), map[string]bool{"db": true, "shop": true}},
		// A tag is not a name, nor a name a tag.
		{mk("name-as-tag", nil, []string{"db"}), map[string]bool{}},
		{mk("tag-as-name", []string{"edge"}, nil), map[string]bool{}},
	} {
		w := mustNew(t, tc.win)
		for _, tg := range []checks.Target{db, web1, shop} {
			name, until, ok := w.Active(tg, at)
			if ok != tc.want[tg.Name] {
				t.Errorf("%s: Active(%s) = %v, want %v", tc.win.Name, tg.Name, ok, tc.want[tg.Name])
			}
			if ok && (name != tc.win.Name || !until.Equal(local(3, 0, 0, 0))) {
				t.Errorf("%s: Active(%s) = %q, %v", tc.win.Name, tg.Name, name, until)
			}
		}
	}
}

// Europe/Berlin springs forward on 2026-03-29 at 01:00 UTC: 02:00 CET
// becomes 03:00 CEST.
func TestBerlinSpringForward(t *testing.T) {
	ber := berlin(t)
	b := func(d, h, m, s int) time.Time { return time.Date(2026, 3, d, h, m, s, 0, ber) }
	u := func(d, h, m, s int) time.Time { return time.Date(2026, 3, d, h, m, s, 0, time.UTC) }
	w := mustNew(t,
		// Starts at 01:00 CET (00:00 UTC) and lasts two hours of elapsed
		// time: until 04:00 CEST (02:00 UTC), three hours on the wall clock.
		config.Maintenance{Name: "across", Schedule: "CRON_TZ=Europe/Berlin 0 1 * * *",
			Duration: 2 * time.Hour, Targets: []string{"db"}},
		// 03:00 on the wall clock: 02:00 UTC the day before, 01:00 UTC on
		// the day of the change.
		config.Maintenance{Name: "three", Schedule: "TZ=Europe/Berlin 0 3 * * *",
			Duration: 30 * time.Minute, Targets: []string{"shop"}},
		// 02:30 does not exist on the day of the change: as the scheduler
		// (robfig/cron) does, that day has no window.
		config.Maintenance{Name: "gap", Schedule: "CRON_TZ=Europe/Berlin 30 2 * * *",
			Duration: time.Hour, Targets: []string{"web-1"}},
	)
	check(t, w, []probe{
		{at: b(29, 0, 59, 59), target: db},
		{at: b(29, 1, 0, 0), target: db, name: "across", until: b(29, 4, 0, 0)},
		{at: b(29, 1, 59, 59), target: db, name: "across", until: b(29, 4, 0, 0)},
		{at: b(29, 3, 0, 0), target: db, name: "across", until: b(29, 4, 0, 0)}, // 1s after 01:59:59 CET
		{at: b(29, 3, 59, 59), target: db, name: "across", until: u(29, 2, 0, 0)},
		{at: b(29, 4, 0, 0), target: db},
		// The day before and after: two hours on the wall clock too.
		{at: b(28, 2, 59, 59), target: db, name: "across", until: b(28, 3, 0, 0)},
		{at: b(28, 3, 0, 0), target: db},
		{at: b(30, 2, 59, 59), target: db, name: "across", until: b(30, 3, 0, 0)},
		{at: b(30, 3, 0, 0), target: db},

		{at: u(28, 1, 59, 59), target: shop},
		{at: u(28, 2, 0, 0), target: shop, name: "three", until: u(28, 2, 30, 0)},
		{at: u(29, 0, 59, 59), target: shop},
		{at: u(29, 1, 0, 0), target: shop, name: "three", until: b(29, 3, 30, 0)},
		{at: u(29, 1, 29, 59), target: shop, name: "three", until: u(29, 1, 30, 0)},
		{at: u(29, 1, 30, 0), target: shop},
		{at: u(29, 2, 0, 0), target: shop},

		{at: b(28, 2, 45, 0), target: web1, name: "gap", until: b(28, 3, 30, 0)},
		{at: u(29, 1, 30, 0), target: web1}, // 03:30 CEST: no 02:30 that day
		{at: u(29, 0, 45, 0), target: web1}, // 01:45 CET
		{at: b(30, 2, 45, 0), target: web1, name: "gap", until: b(30, 3, 30, 0)},
	})
}

// Europe/Berlin falls back on 2026-10-25 at 01:00 UTC: 03:00 CEST becomes
// 02:00 CET, so 02:30 happens twice and, as robfig/cron does, so does the
// window.
func TestBerlinFallBack(t *testing.T) {
	u := func(h, m int) time.Time { return time.Date(2026, 10, 25, h, m, 0, 0, time.UTC) }
	w := mustNew(t, config.Maintenance{Name: "twice", Schedule: "CRON_TZ=Europe/Berlin 30 2 * * *",
		Duration: 20 * time.Minute})
	check(t, w, []probe{
		{at: u(0, 29), target: db},
		{at: u(0, 30), target: db, name: "twice", until: u(0, 50)},
		{at: u(0, 50), target: db},
		{at: u(1, 29), target: db},
		{at: u(1, 30), target: db, name: "twice", until: u(1, 50)},
		{at: u(1, 50), target: db},
	})
}

// A window longer than its period never ends: at any time the latest start
// is less than a period ago.
func TestLongerThanPeriod(t *testing.T) {
	w := mustNew(t, config.Maintenance{Name: "always", Schedule: "0 * * * *", Duration: 2 * time.Hour})
	start := local(0, 0, 0, 0)
	for at := start; at.Before(start.Add(48 * time.Hour)); at = at.Add(7*time.Minute + 13*time.Second) {
		name, until, ok := w.Active(db, at)
		want := time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), 0, 0, 0, time.Local).Add(2 * time.Hour)
		if !ok || name != "always" || !until.Equal(want) {
			t.Fatalf("Active(%v) = %q, %v, %v; want always until %v", at, name, until, ok, want)
		}
	}
}

// A dense spec over a long duration is answered exactly and quickly: the
// search does not walk every activation.
func TestDenseSpecs(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		dur   time.Duration
		at    time.Time
		until time.Time
	}{
		{"* * * * * *", 24 * time.Hour, local(12, 0, 0, 500), local(12, 0, 0, 0).Add(24 * time.Hour)},
		{"* * * * * *", time.Second, local(12, 0, 0, 500), local(12, 0, 1, 0)},
		{"* * * * *", 365 * 24 * time.Hour, local(12, 34, 56, 0), local(12, 34, 0, 0).Add(365 * 24 * time.Hour)},
		{"*/10 * * * * *", 30 * 24 * time.Hour, local(12, 0, 9, 0), local(12, 0, 0, 0).Add(30 * 24 * time.Hour)},
		// Every second of minute 0 of every hour, for a day: at 12:30 the
		// latest start is 12:00:59.
		{"* 0 * * * *", 24 * time.Hour, local(12, 30, 0, 0), local(12, 0, 59, 0).Add(24 * time.Hour)},
	} {
		w := mustNew(t, config.Maintenance{Name: "dense", Schedule: tc.spec, Duration: tc.dur})
		began := time.Now()
		name, until, ok := w.Active(db, tc.at)
		if el := time.Since(began); el > 100*time.Millisecond {
			t.Errorf("%s over %v: %v to answer", tc.spec, tc.dur, el)
		}
		if !ok || name != "dense" || !until.Equal(tc.until) {
			t.Errorf("%s over %v at %v: Active = %q, %v, %v; want until %v",
				tc.spec, tc.dur, tc.at, name, until, ok, tc.until)
		}
	}
}

func TestEvery(t *testing.T) {
	u := func(h, m int) time.Time { return time.Date(2026, 1, 15, h, m, 0, 0, time.UTC) }
	w := mustNew(t,
		config.Maintenance{Name: "six-hourly", Schedule: "@every 6h", Duration: time.Hour, Targets: []string{"db"}},
		config.Maintenance{Name: "always", Schedule: "@every 1h", Duration: 2 * time.Hour, Targets: []string{"shop"}},
		config.Maintenance{Name: "odd", Schedule: "@every 7m", Duration: time.Minute, Targets: []string{"web-1"}},
	)
	// 2026-01-15 00:00 UTC is 20468 = 7·2924 days after the epoch: a
	// multiple of 7 minutes.
	check(t, w, []probe{
		{at: u(5, 59), target: db},
		{at: u(6, 0), target: db, name: "six-hourly", until: u(7, 0)},
		{at: u(6, 59), target: db, name: "six-hourly", until: u(7, 0)},
		{at: u(7, 0), target: db},
		{at: u(0, 30), target: db, name: "six-hourly", until: u(1, 0)},
		{at: u(13, 17), target: shop, name: "always", until: u(15, 0)},
		{at: u(0, 0), target: web1, name: "odd", until: u(0, 1)},
		{at: u(0, 1), target: web1},
		{at: u(0, 6), target: web1},
		{at: u(0, 7), target: web1, name: "odd", until: u(0, 8)},
		{at: u(23, 59), target: web1}, // 23:55 + 1m
		// Before 1970 the multiples go on.
		{at: time.Date(1969, 12, 31, 18, 30, 0, 0, time.UTC), target: db, name: "six-hourly",
			until: time.Date(1969, 12, 31, 19, 0, 0, 0, time.UTC)},
		{at: time.Date(1969, 12, 31, 19, 0, 0, 0, time.UTC), target: db},
	})
}

func TestNeverActive(t *testing.T) {
	at := local(2, 10, 0, 0)
	var nilW *Windows
	for what, w := range map[string]*Windows{
		"nil":      nilW,
		"New(nil)": mustNew(t),
		// Config rejects a spec that never fires; here it is just never active.
		"never": mustNew(t, config.Maintenance{Name: "feb30", Schedule: "0 2 30 2 *", Duration: time.Hour}),
	} {
		if name, until, ok := w.Active(db, at); ok || name != "" || !until.IsZero() {
			t.Errorf("%s: Active = %q, %v, %v; want nothing", what, name, until, ok)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		m    config.Maintenance
		want string
	}{
		{config.Maintenance{Name: "bad", Schedule: "0 2 * *", Duration: time.Hour}, `maintenance "bad": schedule "0 2 * *": `},
		{config.Maintenance{Name: "tz", Schedule: "CRON_TZ=UTC", Duration: time.Hour}, "no schedule after the time zone"},
		{config.Maintenance{Name: "zone", Schedule: "CRON_TZ=Nowhere/Atlantis 0 2 * * *", Duration: time.Hour}, `maintenance "zone"`},
		{config.Maintenance{Name: "zero", Schedule: "0 2 * * *"}, `maintenance "zero": duration 0s is not positive`},
		{config.Maintenance{Name: "neg", Schedule: "0 2 * * *", Duration: -time.Minute}, "not positive"},
	} {
		w, err := New([]config.Maintenance{{Name: "ok", Schedule: "@daily", Duration: time.Hour}, tc.m})
		if err == nil || w != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, %v; want an error containing %q", tc.m, w, err, tc.want)
		}
	}
}

// New copies what it keeps: editing the config afterwards changes nothing.
func TestNewCopies(t *testing.T) {
	ms := []config.Maintenance{{Name: "w", Schedule: "0 2 * * *", Duration: time.Hour,
		Targets: []string{"db"}, Tags: []string{"edge"}}}
	w := mustNew(t, ms...)
	ms[0].Targets[0], ms[0].Tags[0], ms[0].Name = "shop", "storage", "x"
	check(t, w, []probe{
		{at: local(2, 10, 0, 0), target: db, name: "w", until: local(3, 0, 0, 0)},
		{at: local(2, 10, 0, 0), target: web1, name: "w", until: local(3, 0, 0, 0)},
		{at: local(2, 10, 0, 0), target: shop},
	})
}

// walkLatest is the plain way to find the latest start in (at−d, at]:
// walk Next from at−d. The search must agree with it everywhere.
func walkLatest(t *testing.T, w *window, at time.Time) (time.Time, bool) {
	var last time.Time
	x := at.In(time.Local).Add(-w.duration)
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("walk did not end")
		}
		n := w.sched.Next(x)
		if n.IsZero() || n.After(at) {
			return last, !last.IsZero()
		}
		last, x = n, n
	}
}

func TestSearchAgreesWithWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ber := berlin(t)
	bases := []time.Time{
		local(0, 0, 0, 0),
		time.Date(2026, 3, 28, 20, 0, 0, 0, ber),  // spring forward
		time.Date(2026, 10, 24, 20, 0, 0, 0, ber), // fall back
		time.Date(2028, 2, 28, 0, 0, 0, 0, time.UTC),
	}
	for _, tc := range []struct {
		spec string
		dur  time.Duration
	}{
		{"0 2 * * *", 30 * time.Minute},
		{"CRON_TZ=Europe/Berlin 30 2 * * *", time.Hour},
		{"CRON_TZ=Europe/Berlin 0 1-3 * * *", 90 * time.Minute},
		{"CRON_TZ=Europe/Berlin */17 * * * *", 5 * time.Minute},
		{"CRON_TZ=Europe/Berlin */7 2 * * * *", 3 * time.Hour},
		{"TZ=America/New_York 15 */5 * * *", 2*time.Hour + 1},
		{"0 0 29 2 *", 48 * time.Hour},
		{"*/13 * * * * *", 40 * time.Second},
		{"* * * * * *", 10 * time.Second},
		{"0-30 * * * * *", 2 * time.Minute},
		{"0 0 * * MON", 36 * time.Hour},
		{"@daily", 23*time.Hour + 59*time.Minute + 59*time.Second},
	} {
		ws := mustNew(t, config.Maintenance{Name: "w", Schedule: tc.spec, Duration: tc.dur})
		win := &ws.ws[0]
		for _, base := range bases {
			for range 200 {
				at := base.Add(time.Duration(rng.Int64N(int64(30 * time.Hour))))
				if rng.IntN(2) == 0 {
					at = at.Truncate(time.Second)
				}
				got, gotOK := win.latestStart(at)
				want, wantOK := walkLatest(t, win, at)
				if gotOK != wantOK || !got.Equal(want) {
					t.Fatalf("%s over %v at %v: search %v %v, walk %v %v",
						tc.spec, tc.dur, at, got, gotOK, want, wantOK)
				}
			}
		}
	}
}
