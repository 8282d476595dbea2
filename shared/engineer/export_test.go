package engineer

// SetLimit lowers the directory's size limit of s, so a test reaches it
// with a few engineers.
func SetLimit(s *Store, n int) { s.limit = n }
