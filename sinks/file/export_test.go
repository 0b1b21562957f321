package file

// AppendFile is the file interface the sink writes through.
type AppendFile = appendFile

// WrapFile puts wrap around the sink's file, to inject faults.
func WrapFile(s *Sink, wrap func(AppendFile) AppendFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f = wrap(s.f)
}
