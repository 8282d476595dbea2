package storage

// Classify exposes the client's error classification to the tests.
var Classify = classify
