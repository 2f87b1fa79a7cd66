package desiredstate

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TemplateDrift says where a Deployment's pod template (have) departs from
// the one modelgate wrote (want), as a field path such as
// "spec.containers[server].image", or "" where it does not: a hand edit
// (kubectl set image, set env, edit) that the Deployment would roll out.
//
// have is what the API server holds, with its defaults filled in, so a field
// want leaves at its zero value is not compared (the server may have
// defaulted it); every field want sets must hold the same value (quantities
// compared as quantities, after the API server's rounding to milli units).
// Lists must keep their length, so an added container, env variable or volume
// is drift, and so is any key added to a map of the spec (a node selector, a
// resource limit). The template's own labels and annotations may gain keys:
// `kubectl rollout restart` and other tools mark the template that way, and
// modelgate leaves their marks alone.
//
// A field want does not set at all and that a hand edit sets (a boolean
// turned on, a pointer filled) is not seen: it cannot be told from a default.
func TemplateDrift(want, have *corev1.PodTemplateSpec) string {
	return drift(reflect.ValueOf(want).Elem(), reflect.ValueOf(have).Elem(), "")
}

var quantityType = reflect.TypeFor[resource.Quantity]()

// openMaps are the maps of the template that others may add keys to.
var openMaps = map[string]bool{"metadata.labels": true, "metadata.annotations": true}

func drift(want, have reflect.Value, path string) string {
	switch want.Kind() {
	case reflect.Pointer, reflect.Interface:
		switch {
		case want.IsNil():
			return ""
		case have.IsNil():
			return path
		}
		return drift(want.Elem(), have.Elem(), path)
	case reflect.Struct:
		return driftStruct(want, have, path)
	case reflect.Slice:
		if want.Len() != have.Len() {
			return path
		}
		for i := range want.Len() {
			if d := drift(want.Index(i), have.Index(i), path+"["+elementName(want.Index(i), i)+"]"); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		return driftMap(want, have, path)
	}
	if want.IsZero() || want.Equal(have) {
		return ""
	}
	return path
}

func driftStruct(want, have reflect.Value, path string) string {
	if want.Type() == quantityType {
		w, h := want.Interface().(resource.Quantity), have.Interface().(resource.Quantity)
		w.RoundUp(-3) // as the API server stores it
		if !w.IsZero() && w.Cmp(h) != 0 {
			return path
		}
		return ""
	}
	for i := range want.NumField() {
		f := want.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if d := drift(want.Field(i), have.Field(i), fieldPath(path, f)); d != "" {
			return d
		}
	}
	return ""
}

func driftMap(want, have reflect.Value, path string) string {
	if want.Len() != have.Len() && !openMaps[path] {
		return path
	}
	keys := want.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
	for _, k := range keys {
		hv := have.MapIndex(k)
		if !hv.IsValid() {
			return path + "." + k.String()
		}
		if d := drift(want.MapIndex(k), hv, path+"."+k.String()); d != "" {
			return d
		}
	}
	return ""
}

// fieldPath names a field as its JSON does; an inlined struct adds nothing.
func fieldPath(path string, f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch {
	case name == "":
		return path
	case path == "":
		return name
	}
	return path + "." + name
}

// elementName names a list element by its name where it has one (a
// container, an env variable, a volume), else by its index.
func elementName(v reflect.Value, i int) string {
	if v.Kind() == reflect.Struct {
		if n := v.FieldByName("Name"); n.IsValid() && n.Kind() == reflect.String && n.String() != "" {
			return n.String()
		}
	}
	return fmt.Sprint(i)
}
