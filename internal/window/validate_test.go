package window

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation/field"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		windows []servingv1alpha1.DeploymentWindow
		// want are "type path" of each error, in order.
		want []string
	}{
		{name: "none", windows: nil},
		{name: "valid, with the default zone and across midnight", windows: []servingv1alpha1.DeploymentWindow{
			win("09:00", "17:00", "Europe/Berlin", weekdaysOnly...), win("22:00", "02:00", ""), win("00:00", "23:59", "UTC", "Sun"),
		}},
		{name: "a zone Go cannot load", windows: []servingv1alpha1.DeploymentWindow{
			win("09:00", "17:00", "UTC"), win("09:00", "17:00", "Europe/Berln"),
		}, want: []string{"FieldValueInvalid spec.deploymentWindows[1].timeZone"}},
		{name: "the operator's local zone", windows: []servingv1alpha1.DeploymentWindow{win("09:00", "17:00", "Local")},
			want: []string{"FieldValueInvalid spec.deploymentWindows[0].timeZone"}},
		{name: "times off the clock", windows: []servingv1alpha1.DeploymentWindow{win("24:00", "9:00", "UTC")},
			want: []string{"FieldValueInvalid spec.deploymentWindows[0].start", "FieldValueInvalid spec.deploymentWindows[0].end"}},
		{name: "an empty window", windows: []servingv1alpha1.DeploymentWindow{win("09:00", "09:00", "UTC")},
			want: []string{"FieldValueInvalid spec.deploymentWindows[0].end"}},
		{name: "days not in the list, and twice", windows: []servingv1alpha1.DeploymentWindow{win("09:00", "10:00", "UTC", "Mon", "Monday", "Mon")},
			want: []string{"FieldValueNotSupported spec.deploymentWindows[0].days[1]", "FieldValueDuplicate spec.deploymentWindows[0].days[2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			errs := Validate(tt.windows)
			got := make([]string, 0, len(errs))
			for _, e := range errs {
				got = append(got, string(e.Type)+" "+e.Field)
			}
			g.Expect(got).To(Equal(append([]string{}, tt.want...)), errs.ToAggregate())
		})
	}
}

func TestValidateNamesTheZone(t *testing.T) {
	g := NewWithT(t)
	errs := Validate([]servingv1alpha1.DeploymentWindow{win("09:00", "17:00", "Europe/Berln")})
	g.Expect(errs).To(HaveLen(1))
	g.Expect(errs[0].Type).To(Equal(field.ErrorTypeInvalid))
	g.Expect(errs[0].BadValue).To(Equal("Europe/Berln"))
	g.Expect(errs[0].Error()).To(And(
		ContainSubstring("spec.deploymentWindows[0].timeZone"),
		ContainSubstring(`"Europe/Berln"`),
		ContainSubstring("IANA time zone")))
}
