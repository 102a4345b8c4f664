// Package oncall says who is on call: the person of the `oncall:`
// rotation whose period holds a given moment, the one after, and when
// the next handoff is.
//
// # The rotation
//
// Each person of `oncall.rotation` is on call for one period, in the
// order of the list, and then the list starts over. A period is a week
// long: it begins at the handoff (`oncall.handoff`, "Mon 09:00" by
// default) and ends at the next one, a week later, when the next person
// takes over. The handoff is a weekday and a wall-clock time in
// `oncall.time_zone` (UTC by default), and it stays at that wall-clock
// time across daylight saving changes: with time_zone Europe/Berlin and
// handoff "Mon 09:00" every handoff is at 09:00 in Berlin, CET in winter
// and CEST in summer, so the week that holds a DST change is an hour
// shorter or longer than 168 hours. At the handoff minute itself the new
// person is on call (09:00 is the new week; 08:59 the old one).
//
// Which person is first is fixed by a calendar, not by when tocsin was
// started or how often it was restarted: periods are counted from an
// epoch, the first handoff at or after 2024-01-01 00:00 in time_zone
// (with "Mon 09:00", Monday 2024-01-01 09:00). The first person of the
// list was on call in the period that began at the epoch, the second in
// the one after, and so on; the person on call at a moment is the one at
// index (number of handoffs from the epoch up to that moment) modulo the
// length of the list, which holds for moments before the epoch as well.
// Every tocsin with the same rotation, time zone and handoff agrees, and
// a restart changes nothing. To put someone else on call this week,
// reorder the list (moving each person one place forward hands the
// current period to the next one); adding or removing a person reshuffles
// the weeks that follow. The handoff moment depends only on handoff and
// time_zone, so changing either moves the epoch and may change who is
// on call.
//
// A handoff at a wall-clock time that a DST change skips or repeats (a
// "Sun 02:30" in Europe/Berlin on the day of the change) happens at the
// moment Go's time.Date gives for that reading: one of the two offsets
// around the change. That week's period is an hour shorter or longer;
// the order of the rotation is not affected.
//
// A one-person rotation has that person on call all the time (current
// and next). Without `oncall:` there is no rotation (a nil *Rotation),
// and nobody is on call.
package oncall

import (
	"strings"
	"time"

	"github.com/tocsin/tocsin/config"
)

// Rotation is an on-call rotation built from the `oncall:` section. A
// nil *Rotation is valid and has nobody on call. A Rotation does not
// change after New and is safe for concurrent use.
type Rotation struct {
	people  []config.Person
	loc     *time.Location
	weekday time.Weekday
	hour    int
	minute  int
	// epoch is the first handoff at or after 2024-01-01 00:00 in loc,
	// as a date (y, m, d) and the handoff's wall-clock time.
	year  int
	month time.Month
	day   int
}

// epochYear, epochMonth and epochDay are the date from which periods are
// counted: the first handoff at or after its midnight is the epoch.
const (
	epochYear  = 2024
	epochMonth = time.January
	epochDay   = 1
)

// New returns the rotation of c, or nil (nobody on call) when c is nil or
// its rotation is empty. c is expected to have passed config.Load's
// validation; New returns nil, too, for what that validation refuses (a
// handoff that is not a weekday and HH:MM, a time zone that does not
// load). The location is c.Location, or, when that is nil, c.TimeZone
// loaded (UTC when empty). New copies what it keeps of c.
func New(c *config.Oncall) *Rotation {
	if c == nil || len(c.Rotation) == 0 {
		return nil
	}
	loc := c.Location
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation(c.TimeZone); err != nil {
			return nil
		}
	}
	handoff := c.Handoff
	if handoff == "" {
		handoff = "Mon 09:00"
	}
	wd, hour, minute, ok := parseHandoff(handoff)
	if !ok {
		return nil
	}
	r := &Rotation{
		people:  append([]config.Person(nil), c.Rotation...),
		loc:     loc,
		weekday: wd,
		hour:    hour,
		minute:  minute,
	}
	start := time.Date(epochYear, epochMonth, epochDay, 0, 0, 0, 0, loc)
	days := (int(wd) - int(start.Weekday()) + 7) % 7
	first := time.Date(epochYear, epochMonth, epochDay+days, 0, 0, 0, 0, loc)
	r.year, r.month, r.day = first.Date()
	return r
}

// parseHandoff reads "Mon 09:00": a weekday, as its English name or its
// first three letters in any case, and a 24-hour HH:MM.
func parseHandoff(s string) (wd time.Weekday, hour, minute int, ok bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, 0, false
	}
	day := strings.ToLower(f[0])
	found := false
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if day == name || day == name[:3] {
			wd, found = d, true
			break
		}
	}
	if !found || len(f[1]) != 5 {
		return 0, 0, 0, false
	}
	t, err := time.Parse("15:04", f[1])
	if err != nil {
		return 0, 0, 0, false
	}
	return wd, t.Hour(), t.Minute(), true
}

// handoff is the k-th handoff after the epoch (k < 0: before it), built
// from the calendar in the rotation's location, so that it is at the
// handoff's wall-clock time whatever DST changes lie between.
func (r *Rotation) handoff(k int) time.Time {
	return time.Date(r.year, r.month, r.day+7*k, r.hour, r.minute, 0, 0, r.loc)
}

// At returns who is on call at t (cur), who takes over at the next
// handoff (next), and that handoff, in the rotation's time zone: the
// first handoff after t. A handoff at t exactly has already happened:
// cur is the person whose period begins at t. ok is false, and the rest
// zero, for a nil Rotation.
func (r *Rotation) At(t time.Time) (cur, next config.Person, handoff time.Time, ok bool) {
	if r == nil || len(r.people) == 0 {
		return config.Person{}, config.Person{}, time.Time{}, false
	}
	k := r.period(t)
	n := len(r.people)
	return r.people[mod(k, n)], r.people[mod(k+1, n)], r.handoff(k + 1), true
}

// period is the number of handoffs after the epoch up to and including t
// (negative before the epoch): handoff(k) ≤ t < handoff(k+1).
func (r *Rotation) period(t time.Time) int {
	// A first guess from the calendar days between the epoch's date and
	// t's date in the rotation's location; then correct it by at most a
	// step, when t lies on the handoff's weekday before its time.
	lt := t.In(r.loc)
	y, m, d := lt.Date()
	days := civilDay(y, m, d) - civilDay(r.year, r.month, r.day)
	k := floorDiv(days, 7)
	for r.handoff(k).After(t) {
		k--
	}
	for !r.handoff(k + 1).After(t) {
		k++
	}
	return k
}

// civilDay numbers the date y-m-d: consecutive dates, consecutive numbers.
func civilDay(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Unix() / 86400)
}

// floorDiv is a / b rounded toward minus infinity (b > 0).
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// mod is a modulo n in [0, n) for every a, negative ones included.
func mod(a, n int) int {
	return (a%n + n) % n
}
