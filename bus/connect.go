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
	// Logger receives nats.go's connection state changes and asynchronous
	// errors, which would otherwise go to stderr as plain text (never
	// credentials: URLs are redacted). Default slog.Default().
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
		return nil, nil, fmt.Errorf("connect %s: %w", RedactURLs(cfg.URLs), redactErr(err, cfg.URLs))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream on %s: %w", connectedURL(nc), redactErr(err, cfg.URLs))
	}
	return nc, js, nil
}

// connectedURL is the URL of the server nc is connected to, credentials
// redacted (nats.go's ConnectedUrlRedacted keeps a token in the userinfo).
func connectedURL(nc *nats.Conn) string { return RedactURLs(nc.ConnectedUrl()) }

func connOptions(cfg ConnConfig) []nats.Option {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With(slog.String("component", "nats"))
	opts := []nats.Option{
		nats.Name(cmp.Or(cfg.Name, "regen")),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
	}
	opts = append(opts, logHandlers(log)...)
	return append(opts, cfg.authOptions()...)
}

// logHandlers route every callback of nats.go to log, so nothing reaches
// stderr as plain text (nats.go's default async error handler prints
// there). Reconnect attempts that fail are logged at debug level: with
// infinite reconnects they repeat every ReconnectWait.
func logHandlers(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{slog.Any("error", err), slog.String("server", connectedURL(nc))}
			if sub != nil {
				attrs = append(attrs, slog.String("subscription", sub.Subject))
			}
			log.Warn("nats async error", attrs...)
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil { // nil: we closed it ourselves
				log.Warn("nats disconnected", slog.Any("error", err))
			}
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			log.Debug("nats reconnect attempt failed", slog.Any("error", err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", slog.String("server", connectedURL(nc)),
				slog.String("server_name", nc.ConnectedServerName()))
		}),
		nats.LameDuckModeHandler(func(nc *nats.Conn) {
			log.Warn("nats server entering lame duck mode: it will close this connection",
				slog.String("server", connectedURL(nc)), slog.String("server_name", nc.ConnectedServerName()))
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("nats connection closed", slog.Any("error", err))
				return
			}
			log.Debug("nats connection closed")
		}),
	}
}

// authOptions are the credential and TLS options of cfg.
func (cfg ConnConfig) authOptions() []nats.Option {
	var opts []nats.Option
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
