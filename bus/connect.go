package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConnConfig says how to reach NATS. The zero value with URLs set works.
type ConnConfig struct {
	// URLs is a comma-separated list of nats:// URLs.
	URLs string
	// Name is the client connection name shown by the server.
	Name string
	// Creds is a path to a .creds file (JWT + nkey).
	Creds string
	// User and Password authenticate with user/password.
	User, Password string
	// Token authenticates with a token.
	Token string
	// TLSCA, TLSCert, TLSKey configure TLS (CA alone verifies the server).
	TLSCA, TLSCert, TLSKey string
	// Logger receives connection state changes (never credentials).
	Logger *slog.Logger
}

// Connect dials NATS with infinite reconnects and returns the connection and
// its JetStream context. ctx bounds only the first dial.
func Connect(ctx context.Context, cfg ConnConfig) (*nats.Conn, jetstream.JetStream, error) {
	if cfg.URLs == "" {
		return nil, nil, errors.New("connect: no NATS URL")
	}
	opts := connOptions(cfg)
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(dl)))
	}
	nc, err := nats.Connect(cfg.URLs, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", redactURLs(cfg.URLs), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream on %s: %w", nc.ConnectedUrlRedacted(), err)
	}
	return nc, js, nil
}

func connOptions(cfg ConnConfig) []nats.Option {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := []nats.Option{
		nats.Name(cmp.Or(cfg.Name, "regen")),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil { // nil: we closed it ourselves
				log.Warn("nats disconnected", slog.Any("error", err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", slog.String("url", nc.ConnectedUrlRedacted()))
		}),
	}
	if cfg.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	return opts
}
