package app

import (
	"errors"
	"fmt"
	"log/slog"
)

// ErrConnectionClosed says the NATS connection closed for good while the
// replica ran: the server refused its credentials on reconnect, or the
// reconnects ran out. A closed nats.go connection never reopens, so the
// replica stops (Done closes, Stop returns this error and `regen run`
// exits 1) for its supervisor to start it afresh, with whatever
// credentials are current then.
var ErrConnectionClosed = errors.New("nats connection closed")

// watchConnection closes s.done when the orchestrator loop ends by
// itself or the connection closes for good (s.status, registered right
// after connecting); Stop ends the watch first.
func (s *Service) watchConnection() {
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		select {
		case _, ok := <-s.status:
			if ok {
				err := s.connectionLost()
				s.lost.Store(&err)
			}
		case <-s.orch.Done():
		}
	}()
}

// connectionLost logs and returns why the connection closed.
func (s *Service) connectionLost() error {
	err := ErrConnectionClosed
	if last := s.nc.LastError(); last != nil {
		err = fmt.Errorf("%w: %w", ErrConnectionClosed, last)
	}
	s.log.Error("nats connection closed for good; stopping so that the supervisor restarts the replica",
		slog.Any("error", err))
	return err
}

// endWatch stops watching the connection (Stop closes it on purpose) and
// waits for the watch to end.
func (s *Service) endWatch() {
	if s.status == nil {
		return
	}
	s.nc.RemoveStatusListener(s.status)
	<-s.done
}
