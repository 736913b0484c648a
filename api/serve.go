package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// ServeOptions are the connection-level limits of Serve. Zero values take
// the defaults noted.
type ServeOptions struct {
	// Grace is how long shutdown waits for requests in flight; 10 s when 0.
	Grace time.Duration
	// HeaderTimeout is how long a client may take to send a request's
	// headers; 10 s when 0. (Bodies have their own deadlines: Limits.)
	HeaderTimeout time.Duration
	// MaxConnsPerIP caps the open connections of one client address; 0 for
	// no cap.
	MaxConnsPerIP int
}

// Serve serves h on ln with timeouts until ctx is done, then shuts down
// gracefully, giving requests in flight up to opts.Grace to finish.
//
// The server has no overall read timeout: the handler gives each request
// body its own deadline (see Limits), so that a large upload at a decent
// rate is not cut while a trickled body is.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts ServeOptions) error {
	if opts.Grace <= 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = 10 * time.Second
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opts.HeaderTimeout,
		WriteTimeout:      10 * time.Minute, // large exports and downloads
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ln = LimitConnsPerIP(ln, opts.MaxConnsPerIP)
	// Streams (findingStream) end when the shutdown begins; other requests
	// in flight get the grace period.
	closing := make(chan struct{})
	srv.BaseContext = func(net.Listener) context.Context {
		return context.WithValue(context.Background(), closingKey{}, (<-chan struct{})(closing))
	}
	srv.RegisterOnShutdown(func() { close(closing) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), opts.Grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
