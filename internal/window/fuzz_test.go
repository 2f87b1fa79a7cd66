package window

import (
	"testing"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// FuzzCheck: any window a user writes is either refused by Validate (which
// the admission webhook runs) or judged by Check without an error, and
// Check's answer holds together: an open window closes after now, a closed
// one opens after now.
func FuzzCheck(f *testing.F) {
	now := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC).Unix() // the night Europe's clocks go forward
	for _, s := range []struct {
		days       uint8
		start, end string
		zone       string
		at         int64
	}{
		{0b0011111, "09:00", "16:00", "UTC", now},
		{0, "22:00", "02:00", "Europe/Berlin", now},
		{0b1000000, "02:30", "03:30", "Europe/Berlin", now},
		{0b0000001, "00:00", "00:00", "America/New_York", now},
		{0b1111111, "23:59", "00:00", "Pacific/Kiritimati", now},
		{0, "24:00", "9:00", "Mars/Olympus", now},
		{0, "09:00", "16:00", "Local", 0},
		{0, "09:00", "16:00", "", -1 << 40},
	} {
		f.Add(s.days, s.start, s.end, s.zone, s.at)
	}
	f.Fuzz(func(t *testing.T, days uint8, start, end, zone string, at int64) {
		w := servingv1alpha1.DeploymentWindow{Start: start, End: end, TimeZone: zone}
		for i, d := range dayValues {
			if days&(1<<i) != 0 {
				w.Days = append(w.Days, servingv1alpha1.Weekday(d))
			}
		}
		windows := []servingv1alpha1.DeploymentWindow{w}
		if errs := Validate(windows); len(errs) > 0 {
			return
		}
		now := time.Unix(at%(1<<40), 0).UTC() // within ±35,000 years
		r, err := Check(windows, now)
		if err != nil {
			t.Fatalf("Validate accepted %+v, but Check(%s) failed: %v", w, now, err)
		}
		if r.Message == "" {
			t.Fatalf("Check(%+v, %s) says nothing", w, now)
		}
		switch {
		case r.Open && r.Window != 0:
			t.Fatalf("Check(%+v, %s): open in window %d", w, now, r.Window)
		case r.Open && !r.Closes.IsZero() && !r.Closes.After(now):
			t.Fatalf("Check(%+v, %s): open, closing at %s, not after now", w, now, r.Closes)
		case !r.Open && !r.NextStart.IsZero() && !r.NextStart.After(now):
			t.Fatalf("Check(%+v, %s): closed, opening at %s, not after now", w, now, r.NextStart)
		}
	})
}
