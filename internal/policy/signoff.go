package policy

import (
	"encoding/json"
	"slices"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// SignOffs are who set each checklist override, by item id, as the
// serving.modelgate.dev/overrides-by annotation records them.
type SignOffs map[string]Signer

// ParseSignOffs reads the overrides-by annotation. A value that cannot be
// read records nobody: a sign-off that cannot be shown is not given.
func ParseSignOffs(annotation string) SignOffs {
	out := SignOffs{}
	if annotation == "" {
		return out
	}
	if err := json.Unmarshal([]byte(annotation), &out); err != nil {
		return SignOffs{}
	}
	return out
}

// String is the annotation's value: JSON with the ids sorted, or "" when
// nothing is recorded.
func (s SignOffs) String() string {
	if len(s) == 0 {
		return ""
	}
	b, err := json.Marshal(map[string]Signer(s)) // encoding/json sorts map keys
	if err != nil {
		return ""
	}
	return string(b)
}

// StampOverrides says who set each override of after: an override unchanged
// since before (same severity and reason) keeps the signer recorded then, a
// new or changed one is signed by who. Nothing the request itself says about
// signers is read, so a hand-written record cannot stand.
func StampOverrides(before, after []servingv1alpha1.ChecklistOverride, recorded SignOffs, who Signer) SignOffs {
	out := SignOffs{}
	for _, o := range after {
		i := slices.IndexFunc(before, func(b servingv1alpha1.ChecklistOverride) bool { return b.ID == o.ID })
		if i >= 0 && before[i].Severity == o.Severity && before[i].Reason == o.Reason {
			if r, ok := recorded[o.ID]; ok {
				out[o.ID] = r
			}
			continue
		}
		out[o.ID] = Signer{User: who.User, Groups: slices.Clone(who.Groups)}
	}
	return out
}
