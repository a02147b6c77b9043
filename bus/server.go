package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrJetStreamNotEnabled is matched (errors.Is) by the error of Describe
// when the server, or the account regen uses on it, has no JetStream.
var ErrJetStreamNotEnabled = errors.New("JetStream is not enabled")

// DescribeTimeout bounds the account-info request of Describe when ctx has
// no earlier deadline.
const DescribeTimeout = 5 * time.Second

// Server describes the NATS server a connection reached.
type Server struct {
	// URL is the server's URL, credentials redacted.
	URL string
	// Name, Version and Cluster are what the server announced (Cluster is
	// empty for a server outside a cluster).
	Name, Version, Cluster string
	// Domain is the account's JetStream domain ("" when none is set).
	Domain string
	// AccountErr is why the JetStream account info could not be read, when
	// it could not for a reason other than JetStream being disabled (a
	// cluster still electing its meta leader, missing permissions): Domain
	// is then unknown. Provisioning retries what is transient.
	AccountErr error
}

// Attrs are s as log attributes: server, server_name, server_version,
// cluster, jetstream_domain (and jetstream_error when AccountErr is set).
func (s Server) Attrs() []slog.Attr {
	attrs := []slog.Attr{slog.String("server", s.URL), slog.String("server_name", s.Name),
		slog.String("server_version", s.Version), slog.String("cluster", s.Cluster),
		slog.String("jetstream_domain", s.Domain)}
	if s.AccountErr != nil {
		attrs = append(attrs, slog.Any("jetstream_error", s.AccountErr))
	}
	return attrs
}

// Describe tells which server nc is connected to and asks js for the
// account's JetStream info: the first JetStream call of a replica. It
// fails only when JetStream is not enabled there (the error names the
// server and matches ErrJetStreamNotEnabled, instead of nats.go's "no
// responders available for request"); any other failure of the request is
// recorded in Server.AccountErr.
func Describe(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) (Server, error) {
	s := Server{URL: connectedURL(nc), Name: nc.ConnectedServerName(), Version: nc.ConnectedServerVersion(),
		Cluster: nc.ConnectedClusterName()}
	ctx, cancel := context.WithTimeout(ctx, DescribeTimeout)
	defer cancel()
	info, err := js.AccountInfo(ctx)
	switch {
	case err == nil:
		s.Domain = info.Domain
		return s, nil
	case errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return s, &jetStreamNotEnabledError{server: s, account: true, err: err}
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, nats.ErrNoResponders):
		return s, &jetStreamNotEnabledError{server: s, err: err}
	default:
		s.AccountErr = err
		return s, nil
	}
}

// jetStreamNotEnabledError says which server lacks JetStream and what to do.
type jetStreamNotEnabledError struct {
	server  Server
	account bool // enabled on the server, not for the account
	err     error
}

func (e *jetStreamNotEnabledError) Error() string {
	where := fmt.Sprintf("on %s (server %s, nats-server %s)", e.server.URL, e.server.Name, e.server.Version)
	if e.account {
		return fmt.Sprintf("%s for this account %s: give the account JetStream limits in the server configuration",
			ErrJetStreamNotEnabled, where)
	}
	return fmt.Sprintf("%s %s: start nats-server with -js, or add a jetstream {} block to its configuration",
		ErrJetStreamNotEnabled, where)
}

// Is matches ErrJetStreamNotEnabled.
func (e *jetStreamNotEnabledError) Is(target error) bool { return target == ErrJetStreamNotEnabled }

// Unwrap returns nats.go's error (jetstream.ErrJetStreamNotEnabled, ...).
func (e *jetStreamNotEnabledError) Unwrap() error { return e.err }
