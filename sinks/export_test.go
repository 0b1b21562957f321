package sinks

// KnownFields is every dotted path a mapping may name.
var KnownFields = knownFields
