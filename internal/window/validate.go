package window

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// dayValues are the API's day names, Monday first.
var dayValues = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// weekdayOf maps an API day name to Go's weekday.
func weekdayOf(d servingv1alpha1.Weekday) (time.Weekday, bool) {
	for i, v := range dayValues {
		if string(d) == v {
			return weekdays[i], true
		}
	}
	return 0, false
}

// Validate checks spec.deploymentWindows as Check reads it, for the admission
// webhook: days, HH:MM times, an end equal to the start, and a time zone Go
// can load. Every error names its field.
func Validate(windows []servingv1alpha1.DeploymentWindow) field.ErrorList {
	_, errs := parse(windows)
	return errs
}

// parse reads windows; the errors name spec.deploymentWindows[i] fields.
func parse(windows []servingv1alpha1.DeploymentWindow) ([]parsed, field.ErrorList) {
	root := field.NewPath("spec", "deploymentWindows")
	var errs field.ErrorList
	out := make([]parsed, 0, len(windows))
	for i, w := range windows {
		p, werrs := parseOne(w, root.Index(i))
		errs = append(errs, werrs...)
		out = append(out, p)
	}
	return out, errs
}

func parseOne(w servingv1alpha1.DeploymentWindow, path *field.Path) (parsed, field.ErrorList) {
	var errs field.ErrorList
	p := parsed{startRaw: w.Start, endRaw: w.End, daysRaw: w.Days, zone: w.TimeZone}
	if p.zone == "" {
		p.zone = "UTC"
	}
	if len(w.Days) == 0 {
		for d := range p.days {
			p.days[d] = true
		}
	}
	for j, d := range w.Days {
		wd, ok := weekdayOf(d)
		switch {
		case !ok:
			errs = append(errs, field.NotSupported(path.Child("days").Index(j), d, dayValues))
		case p.days[wd]:
			errs = append(errs, field.Duplicate(path.Child("days").Index(j), d))
		default:
			p.days[wd] = true
		}
	}
	var err error
	if p.startH, p.startM, err = parseClock(w.Start); err != nil {
		errs = append(errs, field.Invalid(path.Child("start"), w.Start, err.Error()))
	}
	if p.endH, p.endM, err = parseClock(w.End); err != nil {
		errs = append(errs, field.Invalid(path.Child("end"), w.End, err.Error()))
	} else if w.End == w.Start {
		errs = append(errs, field.Invalid(path.Child("end"), w.End,
			"start and end are equal, so the window is empty; an end before the start means the window crosses midnight"))
	}
	p.crossesMidnight = p.endH*60+p.endM < p.startH*60+p.startM
	if p.loc, err = loadLocation(w.TimeZone); err != nil {
		errs = append(errs, field.Invalid(path.Child("timeZone"), w.TimeZone, err.Error()))
	}
	return p, errs
}

// parseClock reads HH:MM on a 24-hour clock, 00:00 to 23:59.
func parseClock(s string) (h, m int, err error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, 0, fmt.Errorf("must be a time HH:MM from 00:00 to 23:59")
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, 0, fmt.Errorf("must be a time HH:MM from 00:00 to 23:59")
	}
	return h, m, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
