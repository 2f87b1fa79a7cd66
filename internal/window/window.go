package window

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// SearchDays is how far ahead Check looks for the next opening.
const SearchDays = 8

// Result is what Check decided.
type Result struct {
	// Open is true when a rollout may move traffic now: inside a window, or
	// no windows declared.
	Open bool
	// Window is the index in spec.deploymentWindows of the open window (the
	// first one, if several are open), or -1 when none is open or none is declared.
	Window int
	// Closes is when the open window closes, in UTC; zero when closed or when
	// no windows are declared.
	Closes time.Time
	// NextStart is, when closed, the next moment any window opens, in UTC;
	// zero when open, or when no window opens within SearchDays.
	NextStart time.Time
	// NextWindow is the index of the window that opens at NextStart, or -1.
	NextWindow int
	// Message says the above for a condition or a status message, with times
	// in the window's own time zone.
	Message string
}

// parsed is a DeploymentWindow ready to be evaluated.
type parsed struct {
	days                   [7]bool // by time.Weekday
	startH, startM         int
	endH, endM             int
	crossesMidnight        bool
	loc                    *time.Location
	zone, startRaw, endRaw string
	daysRaw                []servingv1alpha1.Weekday
}

// Check says whether now is inside one of windows, and if not, when the next
// one opens. No windows means always open. A window that cannot be read (a
// time zone Go cannot load, a malformed time) is an error naming the field.
//
// Days are the days a window opens on, in its own time zone; a window whose
// end is before its start runs into the next day. Wall-clock times that a
// daylight-saving change skips or repeats are resolved as described at
// Instant.
func Check(windows []servingv1alpha1.DeploymentWindow, now time.Time) (Result, error) {
	if len(windows) == 0 {
		return Result{Open: true, Window: -1, NextWindow: -1,
			Message: "no deployment windows are declared, so a rollout may move traffic at any time"}, nil
	}
	ws, errs := parse(windows)
	if len(errs) > 0 {
		return Result{Window: -1, NextWindow: -1}, errs.ToAggregate()
	}
	res := Result{Window: -1, NextWindow: -1}
	for i, w := range ws {
		if closes, ok := w.openAt(now); ok {
			res.Open, res.Window, res.Closes = true, i, closes.UTC()
			res.Message = fmt.Sprintf("inside deployment window %d (%s) until %s (%s)",
				i, w.describe(), closes.In(w.loc).Format(time.RFC3339), w.zone)
			return res, nil
		}
	}
	for i, w := range ws {
		if next, ok := w.nextOpening(now); ok && (res.NextStart.IsZero() || next.Before(res.NextStart)) {
			res.NextStart, res.NextWindow = next.UTC(), i
		}
	}
	if res.NextStart.IsZero() {
		res.Message = fmt.Sprintf("outside every deployment window, and none opens in the next %d days", SearchDays)
		return res, nil
	}
	w := ws[res.NextWindow]
	res.Message = fmt.Sprintf("outside every deployment window; the next opens at %s (%s)",
		res.NextStart.In(w.loc).Format(time.RFC3339), w.zone)
	return res, nil
}

// occurrence is the window opened on the local date y-m-d, if it opens that day.
func (w parsed) occurrence(y int, m time.Month, d int) (opens, closes time.Time, ok bool) {
	if !w.days[time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()] {
		return time.Time{}, time.Time{}, false
	}
	opens = Instant(y, m, d, w.startH, w.startM, w.loc)
	endDay := d
	if w.crossesMidnight {
		endDay++
	}
	closes = Instant(y, m, endDay, w.endH, w.endM, w.loc)
	// A start carried forward past the end by a daylight-saving gap leaves
	// nothing of the window that day.
	return opens, closes, opens.Before(closes)
}

// openAt returns when the occurrence of w that contains now closes, for one, opened today or
// yesterday in w's time zone.
func (w parsed) openAt(now time.Time) (closes time.Time, ok bool) {
	y, m, d := now.In(w.loc).Date()
	for k := -1; k <= 0; k++ {
		o, c, ok := w.occurrence(y, m, d+k)
		if ok && !now.Before(o) && now.Before(c) {
			return c, true
		}
	}
	return time.Time{}, false
}

// nextOpening returns the first opening of w after now, within SearchDays.
func (w parsed) nextOpening(now time.Time) (time.Time, bool) {
	y, m, d := now.In(w.loc).Date()
	limit := now.Add(SearchDays * 24 * time.Hour)
	for k := 0; k <= SearchDays; k++ {
		o, _, ok := w.occurrence(y, m, d+k)
		if ok && o.After(now) && !o.After(limit) {
			return o, true
		}
	}
	return time.Time{}, false
}

// describe is the window as a person would write it: "Mon,Tue 09:00–17:00 Europe/Berlin".
func (w parsed) describe() string {
	days := "every day"
	if len(w.daysRaw) > 0 && len(w.daysRaw) < 7 {
		names := make([]string, 0, len(w.daysRaw))
		for _, wd := range weekdays {
			if w.days[wd] {
				names = append(names, wd.String()[:3])
			}
		}
		days = strings.Join(names, ",")
	}
	return fmt.Sprintf("%s %s–%s %s", days, w.startRaw, w.endRaw, w.zone)
}

// weekdays are the days from Monday, the order the API lists them in.
var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// Instant is the moment the wall clock in loc shows hh:mm on y-m-d. Out-of-range
// fields are normalised as time.Date does (day 32 is the first of the next
// month). Where a daylight-saving change makes the wall-clock time ambiguous,
// the rule is the one of RFC 5545 and java.time, in force before the change:
//   - a time the clocks skip (02:30 on a spring-forward day in Europe/Berlin)
//     is read with the offset before the change, so it is carried forward by
//     the length of the gap (03:30 CEST);
//   - a time the clocks show twice (02:30 on an autumn fall-back day) is the
//     first of the two (02:30 CEST, not 02:30 CET).
//
// time.Date alone does not promise either: it picks differently east and west
// of Greenwich.
func Instant(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
	naive := time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
	// Real instants are within a day of the wall time read as UTC; a zone
	// changes its offset at most once within three days.
	_, before := naive.Add(-36 * time.Hour).In(loc).Zone()
	_, after := naive.Add(36 * time.Hour).In(loc).Zone()
	var found time.Time
	for _, off := range []int{before, after} {
		t := naive.Add(-time.Duration(off) * time.Second).In(loc)
		if _, o := t.Zone(); o == off && (found.IsZero() || t.Before(found)) {
			found = t
		}
	}
	if found.IsZero() {
		found = naive.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return found
}

// locations caches loaded time zones by name; loading reads and parses the
// zone file every time.
var locations sync.Map

// loadLocation loads an IANA time zone; "" is UTC. "Local" is refused: it is
// whatever zone the operator's pod runs in.
func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if strings.EqualFold(name, "Local") {
		return nil, errors.New(`"Local" means the zone of the operator's pod, not of the deployment; name an IANA time zone such as Europe/Berlin`)
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("not an IANA time zone Go can load (such as Europe/Berlin or America/New_York): %w", err)
	}
	locations.Store(name, loc)
	return loc, nil
}
