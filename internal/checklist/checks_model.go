package checklist

// modelRunners judge the model itself: version, artifact, registry,
// performance, card and documentation links.
var modelRunners = map[string]func(*Inputs) Finding{}
