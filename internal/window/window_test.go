package window

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func win(start, end, zone string, days ...servingv1alpha1.Weekday) servingv1alpha1.DeploymentWindow {
	return servingv1alpha1.DeploymentWindow{Start: start, End: end, TimeZone: zone, Days: days}
}

var weekdaysOnly = []servingv1alpha1.Weekday{"Mon", "Tue", "Wed", "Thu", "Fri"}

func TestCheck(t *testing.T) {
	berlinOffice := win("09:00", "17:00", "Europe/Berlin", weekdaysOnly...)
	fridayNight := win("22:00", "02:00", "America/New_York", "Fri")

	tests := []struct {
		name    string
		windows []servingv1alpha1.DeploymentWindow
		now     string
		// wantWindow is the open window's index, or -1 for closed.
		wantWindow int
		wantCloses string
		// wantNext is the next start when closed, "" for none.
		wantNext       string
		wantNextWindow int
	}{
		// 2026-11-25 is a Wednesday; Berlin is UTC+1 in November.
		{name: "inside an office-hours window", windows: []servingv1alpha1.DeploymentWindow{berlinOffice},
			now: "2026-11-25T10:00:00+01:00", wantWindow: 0, wantCloses: "2026-11-25T16:00:00Z"},
		{name: "the start is inside", windows: []servingv1alpha1.DeploymentWindow{berlinOffice},
			now: "2026-11-25T09:00:00+01:00", wantWindow: 0, wantCloses: "2026-11-25T16:00:00Z"},
		{name: "the end is outside; the next opens tomorrow", windows: []servingv1alpha1.DeploymentWindow{berlinOffice},
			now: "2026-11-25T17:00:00+01:00", wantWindow: -1, wantNext: "2026-11-26T08:00:00Z"},
		{name: "before the start on an open day", windows: []servingv1alpha1.DeploymentWindow{berlinOffice},
			now: "2026-11-25T06:59:00Z", wantWindow: -1, wantNext: "2026-11-25T08:00:00Z"},
		{name: "Friday evening waits for Monday", windows: []servingv1alpha1.DeploymentWindow{berlinOffice},
			now: "2026-11-27T18:00:00+01:00", wantWindow: -1, wantNext: "2026-11-30T08:00:00Z"},
		{name: "a Saturday window seen on Sunday opens six days later",
			windows: []servingv1alpha1.DeploymentWindow{win("10:00", "12:00", "UTC", "Sat")},
			now:     "2026-11-29T11:00:00Z", wantWindow: -1, wantNext: "2026-12-05T10:00:00Z"},
		{name: "a Wednesday-only window just closed opens seven days later",
			windows: []servingv1alpha1.DeploymentWindow{win("10:00", "12:00", "", "Wed")},
			now:     "2026-11-25T12:00:00Z", wantWindow: -1, wantNext: "2026-12-02T10:00:00Z"},
		{name: "the day is the window's own: Sunday in UTC is Monday in Tokyo",
			windows: []servingv1alpha1.DeploymentWindow{win("08:00", "10:00", "Asia/Tokyo", "Mon")},
			now:     "2026-11-29T23:30:00Z", wantWindow: 0, wantCloses: "2026-11-30T01:00:00Z"},
		{name: "Monday in UTC is already past the Tokyo window",
			windows: []servingv1alpha1.DeploymentWindow{win("08:00", "10:00", "Asia/Tokyo", "Mon")},
			now:     "2026-11-30T01:00:00Z", wantWindow: -1, wantNext: "2026-12-06T23:00:00Z"},
		{name: "empty days means every day", windows: []servingv1alpha1.DeploymentWindow{win("09:00", "17:00", "UTC")},
			now: "2026-11-29T09:30:00Z", wantWindow: 0, wantCloses: "2026-11-29T17:00:00Z"},

		// Across midnight: opened on Friday in New York (UTC-5 in November).
		{name: "across midnight: Friday before midnight", windows: []servingv1alpha1.DeploymentWindow{fridayNight},
			now: "2026-11-27T23:30:00-05:00", wantWindow: 0, wantCloses: "2026-11-28T07:00:00Z"},
		{name: "across midnight: Saturday morning is still Friday's window", windows: []servingv1alpha1.DeploymentWindow{fridayNight},
			now: "2026-11-28T01:59:00-05:00", wantWindow: 0, wantCloses: "2026-11-28T07:00:00Z"},
		{name: "across midnight: Saturday evening is not a window day", windows: []servingv1alpha1.DeploymentWindow{fridayNight},
			now: "2026-11-28T23:00:00-05:00", wantWindow: -1, wantNext: "2026-12-05T03:00:00Z"},
		{name: "across midnight: Friday morning belongs to Thursday, which is not a day", windows: []servingv1alpha1.DeploymentWindow{fridayNight},
			now: "2026-11-27T01:00:00-05:00", wantWindow: -1, wantNext: "2026-11-28T03:00:00Z"},

		// Several windows.
		{name: "the second window is open",
			windows: []servingv1alpha1.DeploymentWindow{berlinOffice, win("00:00", "06:00", "UTC", "Sat", "Sun")},
			now:     "2026-11-28T05:00:00Z", wantWindow: 1, wantCloses: "2026-11-28T06:00:00Z"},
		{name: "both open: the first is reported",
			windows: []servingv1alpha1.DeploymentWindow{berlinOffice, win("07:00", "12:00", "UTC")},
			now:     "2026-11-25T10:00:00Z", wantWindow: 0, wantCloses: "2026-11-25T16:00:00Z"},
		{name: "both closed: the earlier opening wins, whichever its index",
			windows: []servingv1alpha1.DeploymentWindow{berlinOffice, win("20:00", "21:00", "America/Los_Angeles", "Fri")},
			now:     "2026-11-27T20:00:00Z", wantWindow: -1, wantNext: "2026-11-28T04:00:00Z", wantNextWindow: 1},

		// Spring forward in Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z).
		{name: "spring: 01:30–03:30 is open before the change",
			windows: []servingv1alpha1.DeploymentWindow{win("01:30", "03:30", "Europe/Berlin", "Sun")},
			now:     "2026-03-29T00:45:00Z", wantWindow: 0, wantCloses: "2026-03-29T01:30:00Z"},
		{name: "spring: 01:30–03:30 is open after the change, one real hour in all",
			windows: []servingv1alpha1.DeploymentWindow{win("01:30", "03:30", "Europe/Berlin", "Sun")},
			now:     "2026-03-29T01:15:00Z", wantWindow: 0, wantCloses: "2026-03-29T01:30:00Z"},
		{name: "spring: 01:30–03:30 closes at 03:30 CEST",
			windows: []servingv1alpha1.DeploymentWindow{win("01:30", "03:30", "Europe/Berlin", "Sun")},
			now:     "2026-03-29T01:30:00Z", wantWindow: -1, wantNext: "2026-04-04T23:30:00Z"},
		{name: "spring: a start in the skipped hour is carried forward by the gap",
			windows: []servingv1alpha1.DeploymentWindow{win("02:30", "04:00", "Europe/Berlin", "Sun")},
			now:     "2026-03-29T01:00:00Z", wantWindow: -1, wantNext: "2026-03-29T01:30:00Z"},
		{name: "spring: the carried-forward start opens the window",
			windows: []servingv1alpha1.DeploymentWindow{win("02:30", "04:00", "Europe/Berlin", "Sun")},
			now:     "2026-03-29T01:30:00Z", wantWindow: 0, wantCloses: "2026-03-29T02:00:00Z"},
		{name: "spring: a window wholly in the skipped hour still opens, an hour later",
			windows: []servingv1alpha1.DeploymentWindow{win("02:00", "02:45", "Europe/Berlin")},
			now:     "2026-03-29T01:10:00Z", wantWindow: 0, wantCloses: "2026-03-29T01:45:00Z"},
		{name: "spring: a start carried past the end leaves nothing that day",
			windows: []servingv1alpha1.DeploymentWindow{win("02:30", "03:15", "Europe/Berlin", "Sun")},
			now:     "2026-03-29T01:10:00Z", wantWindow: -1, wantNext: "2026-04-05T00:30:00Z"},
		{name: "spring west of Greenwich: New York's skipped 02:30 is 03:30 EDT too",
			windows: []servingv1alpha1.DeploymentWindow{win("02:30", "04:00", "America/New_York", "Sun")},
			now:     "2026-03-08T06:00:00Z", wantWindow: -1, wantNext: "2026-03-08T07:30:00Z"},
		{name: "spring across midnight: Saturday 22:00 EST to Sunday 03:00 EDT",
			windows: []servingv1alpha1.DeploymentWindow{win("22:00", "03:00", "America/New_York", "Sat")},
			now:     "2026-03-08T06:30:00Z", wantWindow: 0, wantCloses: "2026-03-08T07:00:00Z"},

		// Fall back in Berlin, Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z).
		{name: "autumn: 01:30–03:30 lasts three real hours, open in the repeated hour",
			windows: []servingv1alpha1.DeploymentWindow{win("01:30", "03:30", "Europe/Berlin", "Sun")},
			now:     "2026-10-25T01:45:00Z", wantWindow: 0, wantCloses: "2026-10-25T02:30:00Z"},
		{name: "autumn: 01:30–03:30 opened at 01:30 CEST",
			windows: []servingv1alpha1.DeploymentWindow{win("01:30", "03:30", "Europe/Berlin", "Sun")},
			now:     "2026-10-24T23:00:00Z", wantWindow: -1, wantNext: "2026-10-24T23:30:00Z"},
		{name: "autumn: a window in the repeated hour opens on its first pass",
			windows: []servingv1alpha1.DeploymentWindow{win("02:10", "02:50", "Europe/Berlin")},
			now:     "2026-10-25T00:20:00Z", wantWindow: 0, wantCloses: "2026-10-25T00:50:00Z"},
		{name: "autumn: and not on its second",
			windows: []servingv1alpha1.DeploymentWindow{win("02:10", "02:50", "Europe/Berlin")},
			now:     "2026-10-25T01:20:00Z", wantWindow: -1, wantNext: "2026-10-26T01:10:00Z"},
		{name: "autumn across midnight in Sydney's spring: Saturday 23:00 AEST to Sunday 03:00 AEDT",
			windows: []servingv1alpha1.DeploymentWindow{win("23:00", "03:00", "Australia/Sydney", "Sat")},
			now:     "2026-10-03T15:30:00Z", wantWindow: 0, wantCloses: "2026-10-03T16:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			res, err := Check(tt.windows, utc(tt.now))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Window).To(Equal(tt.wantWindow), res.Message)
			g.Expect(res.Open).To(Equal(tt.wantWindow >= 0), res.Message)
			if tt.wantWindow >= 0 {
				g.Expect(res.Closes).To(Equal(utc(tt.wantCloses)), res.Message)
				g.Expect(res.NextStart.IsZero()).To(BeTrue())
				g.Expect(res.NextWindow).To(Equal(-1))
				return
			}
			g.Expect(res.Closes.IsZero()).To(BeTrue())
			g.Expect(res.NextStart).To(Equal(utc(tt.wantNext)), res.Message)
			g.Expect(res.NextStart.Location()).To(Equal(time.UTC))
			g.Expect(res.NextWindow).To(Equal(tt.wantNextWindow))
		})
	}
}

func TestCheckNoWindows(t *testing.T) {
	g := NewWithT(t)
	res, err := Check(nil, utc("2026-11-25T03:00:00Z"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Open).To(BeTrue())
	g.Expect(res.Window).To(Equal(-1))
	g.Expect(res.Message).To(Equal("no deployment windows are declared, so a rollout may move traffic at any time"))
}

func TestCheckMessages(t *testing.T) {
	g := NewWithT(t)
	windows := []servingv1alpha1.DeploymentWindow{win("09:00", "17:00", "Europe/Berlin", weekdaysOnly...)}

	res, err := Check(windows, utc("2026-11-26T17:30:00+01:00"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Message).To(Equal("outside every deployment window; the next opens at 2026-11-27T09:00:00+01:00 (Europe/Berlin)"))

	res, err = Check(windows, utc("2026-11-27T10:00:00+01:00"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Message).To(Equal("inside deployment window 0 (Mon,Tue,Wed,Thu,Fri 09:00–17:00 Europe/Berlin) until 2026-11-27T17:00:00+01:00 (Europe/Berlin)"))

	res, err = Check([]servingv1alpha1.DeploymentWindow{win("22:00", "02:00", "")}, utc("2026-11-27T23:00:00Z"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Message).To(Equal("inside deployment window 0 (every day 22:00–02:00 UTC) until 2026-11-28T02:00:00Z (UTC)"))
}

func TestCheckNoneWithinSearch(t *testing.T) {
	g := NewWithT(t)
	// A Sunday window whose start the spring-forward gap carries past its
	// end: seen just after it closed on the Sunday before, the next opening
	// is fourteen days away.
	windows := []servingv1alpha1.DeploymentWindow{win("02:30", "03:15", "Europe/Berlin", "Sun")}
	res, err := Check(windows, utc("2026-03-21T12:00:00Z"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Open).To(BeFalse())
	g.Expect(res.NextStart).To(Equal(utc("2026-03-22T01:30:00Z")))

	res, err = Check(windows, utc("2026-03-22T02:15:00Z"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Open).To(BeFalse())
	g.Expect(res.NextStart.IsZero()).To(BeTrue(), res.NextStart.String())
	g.Expect(res.NextWindow).To(Equal(-1))
	g.Expect(res.Message).To(Equal("outside every deployment window, and none opens in the next 8 days"))
}

func TestCheckUnknownTimeZone(t *testing.T) {
	g := NewWithT(t)
	windows := []servingv1alpha1.DeploymentWindow{win("09:00", "17:00", "UTC"), win("09:00", "17:00", "Mars/Olympus_Mons")}
	res, err := Check(windows, utc("2026-11-25T10:00:00Z"))
	g.Expect(err).To(MatchError(And(
		ContainSubstring("spec.deploymentWindows[1].timeZone"),
		ContainSubstring(`"Mars/Olympus_Mons"`))))
	g.Expect(res.Open).To(BeFalse())
}

func TestInstant(t *testing.T) {
	tests := []struct {
		name   string
		zone   string
		y      int
		m      time.Month
		d      int
		hh, mm int
		want   string
	}{
		{"an ordinary time", "Europe/Berlin", 2026, time.November, 25, 9, 0, "2026-11-25T08:00:00Z"},
		{"day 31 of November is 1 December", "Europe/Berlin", 2026, time.November, 31, 9, 0, "2026-12-01T08:00:00Z"},
		{"Berlin, before the spring gap", "Europe/Berlin", 2026, time.March, 29, 1, 59, "2026-03-29T00:59:00Z"},
		{"Berlin, in the spring gap: carried forward", "Europe/Berlin", 2026, time.March, 29, 2, 30, "2026-03-29T01:30:00Z"},
		{"Berlin, the first time after the gap", "Europe/Berlin", 2026, time.March, 29, 3, 0, "2026-03-29T01:00:00Z"},
		{"New York, in the spring gap: carried forward as in Berlin", "America/New_York", 2026, time.March, 8, 2, 30, "2026-03-08T07:30:00Z"},
		{"Berlin, repeated in autumn: the first pass, CEST", "Europe/Berlin", 2026, time.October, 25, 2, 30, "2026-10-25T00:30:00Z"},
		{"New York, repeated in autumn: the first pass, EDT", "America/New_York", 2026, time.November, 1, 1, 30, "2026-11-01T05:30:00Z"},
		{"Lord Howe, a half-hour gap", "Australia/Lord_Howe", 2026, time.October, 4, 2, 15, "2026-10-03T15:45:00Z"},
		{"Lord Howe, a half-hour repeat: the first pass", "Australia/Lord_Howe", 2026, time.April, 5, 1, 45, "2026-04-04T14:45:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			loc, err := time.LoadLocation(tt.zone)
			g.Expect(err).NotTo(HaveOccurred())
			got := Instant(tt.y, tt.m, tt.d, tt.hh, tt.mm, loc)
			g.Expect(got.UTC()).To(Equal(utc(tt.want)), got.String())
			g.Expect(got.Location()).To(Equal(loc))
		})
	}
}
