package configrollout

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func testMD() *servingv1alpha1.ModelDeployment {
	return &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "scorer", Namespace: "ml"}}
}

// everywhere references each object from every place a pod spec can.
func everywhere() corev1.PodSpec {
	return corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "fetch", EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "init-env"}}},
		}}},
		Containers: []corev1.Container{{
			Name: "server",
			EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			},
			Env: []corev1.EnvVar{
				{Name: "THRESHOLD", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "thresholds"}, Key: "t", Optional: ptr.To(true)}}},
				{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}},
				{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "LITERAL", Value: "x"},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "features", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "features"}, Optional: ptr.To(true)}}},
			{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls"}}},
			{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "thresholds"}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected"}, Optional: ptr.To(true)}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}},
	}
}

func TestReferences(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.PodSpec
		want []Reference
	}{
		{"none", corev1.PodSpec{Containers: []corev1.Container{{Name: "server"}}}, []Reference{}},
		{"every place, sorted, optional only when every reference is", everywhere(), []Reference{
			{Ref{KindConfigMap, "features"}, true},
			{Ref{KindConfigMap, "init-env"}, false},
			{Ref{KindConfigMap, "thresholds"}, false}, // optional in env, required in the projected volume
			{Ref{KindSecret, "creds"}, false},
			{Ref{KindSecret, "projected"}, true},
			{Ref{KindSecret, "tls"}, false},
		}},
		{"an empty name is no reference", corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
		}}, []Reference{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := References(&tt.spec)
			if len(got) != len(tt.want) {
				t.Fatalf("References = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("References[%d] = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPlan(t *testing.T) {
	md := testMD()
	ref := func(kind, name string, optional bool) Reference { return Reference{Ref{kind, name}, optional} }
	tests := []struct {
		name    string
		sources []Source
		want    []Copy
	}{
		{"a found object is copied under its hash", []Source{{Reference: ref(KindConfigMap, "cfg", false), Found: true, Hash: "h1"}},
			[]Copy{{Ref: Ref{KindConfigMap, "cfg"}, Name: CopyName(md, Ref{KindConfigMap, "cfg"}, "h1"), Hash: "h1"}}},
		{"a missing optional object gets an empty copy", []Source{{Reference: ref(KindSecret, "opt", true)}},
			[]Copy{{Ref: Ref{KindSecret, "opt"}, Name: CopyName(md, Ref{KindSecret, "opt"}, EmptyHash), Hash: EmptyHash, Empty: true}}},
		{"a missing required object is read live", []Source{{Reference: ref(KindConfigMap, "cfg", false)}}, nil},
		{"an untracked Secret is read live", []Source{{Reference: ref(KindSecret, "creds", false), Found: true, Untracked: "not labelled"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(md, tt.sources)
			if len(got) != len(tt.want) {
				t.Fatalf("Plan = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Plan[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCopyName(t *testing.T) {
	md, other := testMD(), testMD()
	other.Name = "ranker"
	cfg := Ref{KindConfigMap, "cfg"}
	a := CopyName(md, cfg, "h1")
	// 64 bits: whoever may edit the ConfigMap must not find other data of the
	// same copy name (2^32 hashes take minutes), which the revision, its
	// approvals and a copy made again after a deletion would take for the
	// reviewed data.
	if !strings.HasPrefix(a, "cfg-") || len(a) != len("cfg-")+16 || strings.Trim(a[len("cfg-"):], "0123456789abcdef") != "" {
		t.Errorf("CopyName = %q, want cfg-<16 hex>", a)
	}
	for name, b := range map[string]string{
		"other data":              CopyName(md, cfg, "h2"),
		"other ModelDeployment":   CopyName(other, cfg, "h1"),
		"other kind, same name":   CopyName(md, Ref{KindSecret, "cfg"}, "h1"),
		"other object, same hash": CopyName(md, Ref{KindConfigMap, "cfg2"}, "h1"),
	} {
		if a == b {
			t.Errorf("%s: same copy name %q", name, a)
		}
	}
	if CopyName(md, cfg, "h1") != a {
		t.Error("CopyName is not stable")
	}
	long := CopyName(md, Ref{KindConfigMap, strings.Repeat("a", 250)}, "h1")
	if errs := validation.IsDNS1123Subdomain(long); len(errs) > 0 {
		t.Errorf("CopyName of a long name = %q: %v", long, errs)
	}
}

func TestHashes(t *testing.T) {
	cm := func(data map[string]string, bin map[string][]byte) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", ResourceVersion: "1"}, Data: data, BinaryData: bin}
	}
	base := ConfigMapHash(cm(map[string]string{"t": "0.5"}, nil))
	if got := ConfigMapHash(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other", ResourceVersion: "9", Labels: map[string]string{"a": "b"}},
		Data: map[string]string{"t": "0.5"}}); got != base {
		t.Error("a ConfigMap's hash depends on its metadata; it must depend on its data only")
	}
	for name, other := range map[string]*corev1.ConfigMap{
		"changed value":   cm(map[string]string{"t": "0.6"}, nil),
		"added key":       cm(map[string]string{"t": "0.5", "u": ""}, nil),
		"binary data too": cm(map[string]string{"t": "0.5"}, map[string][]byte{"b": {1}}),
	} {
		if ConfigMapHash(other) == base {
			t.Errorf("%s: same hash", name)
		}
	}

	secret := func(uid string, typ corev1.SecretType, v string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{UID: types.UID("u" + uid)}, Type: typ, Data: map[string][]byte{"k": []byte(v)}}
	}
	s := SecretHash(secret("1", corev1.SecretTypeOpaque, "v"))
	for name, other := range map[string]*corev1.Secret{
		"changed value":            secret("1", corev1.SecretTypeOpaque, "w"),
		"changed type":             secret("1", corev1.SecretTypeBasicAuth, "v"),
		"another Secret's UID key": secret("2", corev1.SecretTypeOpaque, "v"),
	} {
		if SecretHash(other) == s {
			t.Errorf("%s: same hash", name)
		}
	}
	if len(s) != 64 {
		t.Errorf("SecretHash = %q, want 64 hex", s)
	}
}

func TestUntracked(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		typ    corev1.SecretType
		want   string
	}{
		{"opted in", map[string]string{servingv1alpha1.LabelManagerReadable: "true"}, corev1.SecretTypeOpaque, ""},
		{"not opted in", nil, corev1.SecretTypeOpaque, "not labelled serving.modelgate.dev/manager-readable=true, so modelgate does not read it"},
		{"opted in with another value", map[string]string{servingv1alpha1.LabelManagerReadable: "yes"}, corev1.SecretTypeOpaque, "not labelled serving.modelgate.dev/manager-readable=true, so modelgate does not read it"},
		{"a token, even opted in", map[string]string{servingv1alpha1.LabelManagerReadable: "true"}, corev1.SecretTypeServiceAccountToken, "a service account token is not copied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Untracked(tt.labels, tt.typ); got != tt.want {
				t.Errorf("Untracked = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	md := testMD()
	spec := everywhere()
	tpl := corev1.PodTemplateSpec{Spec: spec}
	copies := Plan(md, []Source{
		{Reference: Reference{Ref{KindConfigMap, "thresholds"}, false}, Found: true, Hash: "h"},
		{Reference: Reference{Ref{KindConfigMap, "init-env"}, false}, Found: true, Hash: "h"},
		{Reference: Reference{Ref{KindSecret, "creds"}, false}, Found: true, Hash: "h"},
		{Reference: Reference{Ref{KindSecret, "projected"}, true}},
		{Reference: Reference{Ref{KindSecret, "tls"}, false}, Found: true, Untracked: "not labelled"},
		{Reference: Reference{Ref{KindConfigMap, "features"}, true}, Found: true, Hash: "h"},
	})
	got := Rewrite(tpl, copies)
	name := func(kind, n, hash string) string { return CopyName(md, Ref{kind, n}, hash) }

	if tpl.Spec.Containers[0].EnvFrom[0].SecretRef.Name != "creds" {
		t.Fatal("Rewrite changed the template it was given")
	}
	checks := []struct{ what, got, want string }{
		{"init envFrom", got.Spec.InitContainers[0].EnvFrom[0].ConfigMapRef.Name, name(KindConfigMap, "init-env", "h")},
		{"envFrom secret", got.Spec.Containers[0].EnvFrom[0].SecretRef.Name, name(KindSecret, "creds", "h")},
		{"env configMapKeyRef", got.Spec.Containers[0].Env[0].ValueFrom.ConfigMapKeyRef.Name, name(KindConfigMap, "thresholds", "h")},
		{"env secretKeyRef", got.Spec.Containers[0].Env[1].ValueFrom.SecretKeyRef.Name, name(KindSecret, "creds", "h")},
		{"configMap volume", got.Spec.Volumes[0].ConfigMap.Name, name(KindConfigMap, "features", "h")},
		{"untracked secret volume", got.Spec.Volumes[1].Secret.SecretName, "tls"},
		{"projected configMap", got.Spec.Volumes[2].Projected.Sources[0].ConfigMap.Name, name(KindConfigMap, "thresholds", "h")},
		{"projected missing optional secret", got.Spec.Volumes[2].Projected.Sources[1].Secret.Name, name(KindSecret, "projected", EmptyHash)},
		{"imagePullSecrets", got.Spec.ImagePullSecrets[0].Name, "registry"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
		}
	}
	if got.Spec.Containers[0].Env[0].ValueFrom.ConfigMapKeyRef.Key != "t" || !*got.Spec.Volumes[0].ConfigMap.Optional {
		t.Error("Rewrite changed more than the names")
	}
	if same := Rewrite(tpl, nil); same.Spec.Containers[0].EnvFrom[0].SecretRef.Name != "creds" {
		t.Error("Rewrite without copies changed the template")
	}
}

func TestCopies(t *testing.T) {
	md := testMD()
	c := Copy{Ref: Ref{KindSecret, "creds"}, Name: "creds-0123abcd", Hash: "h"}
	meta := Metadata(md, c, map[string]string{"app.kubernetes.io/name": "scorer"})
	if meta.Labels[LabelCopy] != "true" || meta.Labels["app.kubernetes.io/name"] != "scorer" || meta.Annotations[AnnotationCopyOf] != "creds" || meta.Namespace != "ml" {
		t.Errorf("Metadata = %+v", meta)
	}
	src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Labels: map[string]string{"x": "y"}}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}}
	s := SecretCopy(meta, src)
	if !*s.Immutable || s.Type != corev1.SecretTypeTLS || string(s.Data["tls.key"]) != "k" || s.Name != "creds-0123abcd" || s.Labels["x"] != "" {
		t.Errorf("SecretCopy = %+v", s)
	}
	if e := SecretCopy(meta, nil); !*e.Immutable || len(e.Data) != 0 || e.Type != corev1.SecretTypeOpaque {
		t.Errorf("empty SecretCopy = %+v", e)
	}
	cm := ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": {2}}})
	if !*cm.Immutable || cm.Data["a"] != "1" || cm.BinaryData["b"][0] != 2 {
		t.Errorf("ConfigMapCopy = %+v", cm)
	}
	if e := ConfigMapCopy(meta, nil); !*e.Immutable || e.Data != nil {
		t.Errorf("empty ConfigMapCopy = %+v", e)
	}
}

func TestPrune(t *testing.T) {
	spec := corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "a", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg-1"}}}},
	}}
	used := map[Ref]bool{}
	InUse(&spec, used)
	got := Prune([]Ref{{KindSecret, "cfg-1"}, {KindConfigMap, "cfg-2"}, {KindConfigMap, "cfg-1"}}, used)
	want := []Ref{{KindConfigMap, "cfg-2"}, {KindSecret, "cfg-1"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Prune = %v, want %v (a Secret named like a used ConfigMap copy is not in use)", got, want)
	}
}

func TestEnabled(t *testing.T) {
	md := testMD()
	if !Enabled(md) {
		t.Error("unset is On")
	}
	md.Spec.ConfigRollout = servingv1alpha1.ConfigRolloutOff
	if Enabled(md) {
		t.Error("Off is off")
	}
}

func TestHolds(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "thresholds-0123abcd"}
	cm := ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"threshold": "0.5"}})
	secret := SecretCopy(meta, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{UID: "source"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.key": []byte("k")}})
	// stored is have as read back from the API server: its own UID, its
	// resourceVersion, an owner reference anyone may set.
	stored := func(o client.Object) client.Object {
		o = o.DeepCopyObject().(client.Object)
		o.SetUID("copy")
		o.SetResourceVersion("7")
		o.SetOwnerReferences([]metav1.OwnerReference{{Kind: "ModelDeployment", Name: "scorer", Controller: ptr.To(true)}})
		return o
	}
	tests := []struct {
		name       string
		want, have client.Object
		holds      bool
	}{
		{name: "the ConfigMap copy made", want: cm, have: stored(cm), holds: true},
		{name: "the Secret copy made", want: secret, have: stored(secret), holds: true},
		{name: "an empty copy", want: ConfigMapCopy(meta, nil), have: stored(ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{}})), holds: true},
		{name: "a planted ConfigMap with other data", want: cm,
			have: stored(ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"threshold": "0.0"}}))},
		{name: "a planted ConfigMap with a key more", want: cm,
			have: stored(ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"threshold": "0.5"}, BinaryData: map[string][]byte{"x": {1}}}))},
		{name: "a planted ConfigMap with the data but mutable, to be changed later", want: cm,
			have: stored(&corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"threshold": "0.5"}})},
		{name: "a planted Secret with another key", want: secret,
			have: stored(SecretCopy(meta, &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.key": []byte("evil")}}))},
		{name: "a planted Secret of another type", want: secret,
			have: stored(SecretCopy(meta, &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"tls.key": []byte("k")}}))},
		{name: "another kind", want: cm, have: stored(secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Holds(tt.want, tt.have); got != tt.holds {
				t.Errorf("Holds = %v, want %v", got, tt.holds)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "thresholds-0123456789abcdef", Namespace: "ml"}
	cm := ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"t": "0.5"}, BinaryData: map[string][]byte{"b": {1}}})
	cmCopy := Copy{Ref: Ref{KindConfigMap, "thresholds"}, Name: meta.Name, Hash: "h"}
	rec := NewRecord(cmCopy, cm, "md-uid")
	if rec.Kind != KindConfigMap || rec.Name != meta.Name || rec.Of != "thresholds" || rec.Hash != ConfigMapHash(cm) {
		t.Fatalf("record of a ConfigMap copy: %+v", rec)
	}
	want := rec.Want(meta).(*corev1.ConfigMap)
	if !Holds(cm, want) || want.Name != meta.Name {
		t.Errorf("a ConfigMap copy made again from its record holds other data: %+v", want)
	}

	secret := SecretCopy(meta, &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"token": []byte("s3cret")}})
	srec := NewRecord(Copy{Ref: Ref{KindSecret, "creds"}, Name: meta.Name}, secret, "md-uid")
	if srec.Data != nil || srec.BinaryData != nil {
		t.Errorf("a Secret's record keeps its data: %+v", srec)
	}
	if strings.Contains(srec.Hash, "s3cret") || srec.Hash == "" {
		t.Errorf("a Secret's record hash %q", srec.Hash)
	}
	if srec.Want(meta) != nil {
		t.Errorf("a Secret copy with data is made again from a record that keeps no values")
	}
	if other := NewRecord(Copy{Ref: Ref{KindSecret, "creds"}, Name: meta.Name}, secret, "other-md"); other.Hash == srec.Hash {
		t.Errorf("a Secret's hash is not keyed by the ModelDeployment's UID")
	}
	empty := NewRecord(Copy{Ref: Ref{KindSecret, "opt"}, Name: meta.Name, Empty: true}, SecretCopy(meta, nil), "md-uid")
	if w, ok := empty.Want(meta).(*corev1.Secret); !ok || len(w.Data) != 0 || CopyHash(w, "md-uid") != empty.Hash {
		t.Errorf("the empty copy of a missing optional Secret is not made again as recorded: %+v", w)
	}
}

func TestCheck(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "thresholds-0123456789abcdef", Namespace: "ml"}
	ours := ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"t": "0.5"}})
	rec := NewRecord(Copy{Ref: Ref{KindConfigMap, "thresholds"}, Name: meta.Name}, ours, "uid")
	other := ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"t": "0.0"}})
	mutable := ours.DeepCopy()
	mutable.Immutable = nil
	secret := SecretCopy(meta, &corev1.Secret{Data: map[string][]byte{"k": []byte("v")}})
	srec := NewRecord(Copy{Ref: Ref{KindSecret, "creds"}, Name: meta.Name}, secret, "uid")
	otherSecret := SecretCopy(meta, &corev1.Secret{Data: map[string][]byte{"k": []byte("w")}})
	for _, tc := range []struct {
		name       string
		rec        Record
		have       client.Object
		controlled bool
		want       Verdict
	}{
		{"our copy", rec, ours, true, Intact},
		{"missing", rec, nil, false, Missing},
		{"other data, owner reference and all", rec, other, true, Planted},
		{"our data but not ours", rec, ours, false, Planted},
		{"our data, mutable", rec, mutable, true, Planted},
		{"our Secret copy", srec, secret, true, Intact},
		{"a Secret of other data", srec, otherSecret, true, Planted},
		{"a ConfigMap under a Secret copy's name", srec, ours, true, Planted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hash string
			if tc.have != nil && tc.controlled {
				hash = CopyHash(tc.have, "uid")
			}
			if got := Check(tc.rec, tc.have, tc.controlled, hash); got != tc.want {
				t.Errorf("Check = %v, want %v", got, tc.want)
			}
		})
	}
}
