package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
	"github.com/modelkeep/modelkeep/compliance"
	"github.com/modelkeep/modelkeep/evidence"
	"github.com/modelkeep/modelkeep/store"
	"github.com/modelkeep/modelkeep/uploads"
	"github.com/modelkeep/modelkeep/websession"
	"github.com/modelkeep/modelkeep/webui"
)

// httpMetrics are the request metrics exported at /metrics.
type httpMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics() *httpMetrics {
	m := &httpMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelkeep_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "modelkeep_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60, 300},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "modelkeep_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *httpMetrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			start := time.Now()
			err := next(c)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			// The request logger, inside this middleware, hands errors to the
			// error handler, so the status sent is known here.
			status := recordedStatus(c, err)
			label := strconv.Itoa(status)
			if status == 0 {
				label = "error"
			}
			m.requests.WithLabelValues(c.Request().Method, route, label).Inc()
			m.duration.WithLabelValues(c.Request().Method, route).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// newEcho builds the HTTP handler: middleware, the API, the service routes
// and the web UI.
func newEcho(cfg Config, svc *modelkeep.Service, comp *compliance.Service, ups *uploads.Service, authn api.Authenticator, sessions *websession.Service, logger *slog.Logger, meta *store.Store) (*echo.Echo, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The client address recorded in audit events is the peer's: headers
	// such as X-Forwarded-For are the client's to forge.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = unlessClientGone(api.NewErrorHandler(logger))
	metrics := newHTTPMetrics()

	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(rememberClient)
	e.Use(middleware.RequestID())
	e.Use(securityHeaders())
	e.Use(metrics.middleware())
	e.Use(requestLogger(logger))
	e.Use(api.RequestContext())
	doc, err := api.LoadSpec()
	if err != nil {
		return nil, err
	}
	origin := ""
	if cfg.PublicURL != "" {
		u, err := ParsePublicURL(cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		origin = api.OriginOf(u)
	}
	authorize, err := api.Authorize(doc, authn, api.AuthOptions{
		Denied: func(ctx context.Context, _ modelkeep.Actor, operation, path, reason string) {
			svc.RecordDenied(ctx, operation, strings.TrimPrefix(path, "/api/v1/"), reason)
		},
		Sessions: sessions,
		Origin:   origin,
	})
	if err != nil {
		return nil, err
	}
	registerReadyCacheMetrics(metrics.registry, meta)
	registerVersionCreateMetrics(metrics.registry, meta)
	limits, err := newRateLimits(cfg, metrics.registry)
	if err != nil {
		return nil, err
	}
	if limits != nil {
		// Around authentication: refused credentials spend the address's
		// budget; then the caller's budget, before any body is read or the
		// request waits in the admission line.
		e.Use(limits.refusedCredentials())
		e.Use(authorize)
		e.Use(limits.admitted())
	} else {
		e.Use(authorize)
	}
	e.Use(api.LimitJSONBodies())
	e.Use(api.ValidateRequests(doc))
	if cfg.MaxConcurrentRequests > 0 {
		// Last, so that a request holds its turn only while it is served:
		// its body has been read and checked by then.
		line := newAdmission(cfg.MaxConcurrentRequests, maxQueuedRequests, cfg.MaxQueueWait)
		metrics.registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "modelkeep_http_requests_waiting", Help: "API requests waiting for their turn (MODELKEEP_MAX_CONCURRENT_REQUESTS).",
			}, func() float64 { return float64(line.waiting()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "modelkeep_http_requests_admitted", Help: "API requests running, out of MODELKEEP_MAX_CONCURRENT_REQUESTS.",
			}, func() float64 { return float64(line.admitted()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "modelkeep_http_requests_reclaiming", Help: "Admitted API requests that gave their turn away while waiting on another's shared transaction and wait to take one back, ahead of the line.",
			}, func() float64 { return float64(line.reclaiming()) }))
		e.Use(line.middleware())
	}

	h := api.NewHandlers(svc, api.Options{
		Logger: logger, MaxUploadSize: cfg.MaxUploadSize, PresignTTL: cfg.PresignTTL, Compliance: comp, Uploads: ups,
		Sessions: sessions, SecureCookies: strings.HasPrefix(origin, "https://"),
	})
	api.Register(e, h)

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
		defer cancel()
		status, code, checks := "ok", http.StatusOK, map[string]string{}
		for name, err := range svc.Ready(ctx) {
			checks[name] = "ok"
			if err != nil {
				status, code = "unavailable", http.StatusServiceUnavailable
				checks[name] = notReady(name, err)
				logger.WarnContext(ctx, "readiness check failed", "check", name, "reason", checks[name], "err", err)
			}
		}
		return c.JSON(code, map[string]any{"status": status, "checks": checks})
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(metrics.registry, promhttp.HandlerOpts{})))
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", modelkeep.OpenAPISpec)
	})
	e.GET(evidence.SchemaURL, func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/schema+json", evidence.Schema())
	})
	ui := http.StripPrefix("/ui", webui.Handler(cfg.WebUIDir))
	e.GET("/ui/*", echo.WrapHandler(ui))
	e.GET("/ui", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/ui/") })
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/ui/") })
	return e, nil
}

// uiCSP is the web UI's Content-Security-Policy: scripts, styles, images,
// fonts and API calls from this origin only (so no inline script or style,
// and no eval), frames only of this origin (the printable model card),
// nothing framing the UI, no <base> to redirect its relative URLs, forms
// posting only here.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the browser-facing headers of every response: the
// UI's strict policy on /ui/, and on everything else (JSON, files, the
// HTML renderings of cards and evidence, which carry their own policies)
// at least no MIME sniffing and no framing. Session answers, which carry
// the CSRF token, are never cached.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			path := c.Request().URL.Path
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			if path == "/ui" || strings.HasPrefix(path, "/ui/") {
				h.Set("Content-Security-Policy", uiCSP)
				h.Set("Cross-Origin-Opener-Policy", "same-origin")
			} else {
				h.Set("Content-Security-Policy", "frame-ancestors 'none'")
			}
			if path == "/api/v1/session" || strings.HasPrefix(path, "/api/v1/session/") {
				h.Set("Cache-Control", "no-store")
			}
			return next(c)
		}
	}
}

// requestLogger logs one line per request; never the query string, which
// could carry secrets in a future presigned flow.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true,
		LogRoutePath: true, LogResponseSize: true, LogRemoteIP: true, LogError: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			gone := v.Error != nil && clientGone(c)
			switch {
			case gone:
				// Not the server's failure: the client went away.
				v.Status = statusClientClosedRequest
			case c.Get(busyKey) != nil:
				level = slog.LevelWarn // the admission line under load
			case v.Status >= 500:
				level = slog.LevelError
			case v.URIPath == "/healthz" || v.URIPath == "/readyz" || v.URIPath == "/metrics":
				level = slog.LevelDebug
			}
			attrs := []slog.Attr{
				slog.String("request_id", v.RequestID), slog.String("method", v.Method),
				slog.String("path", v.URIPath), slog.String("route", v.RoutePath),
				slog.Int("status", v.Status), slog.Int64("bytes", v.ResponseSize),
				slog.Duration("latency", v.Latency), slog.String("remote_ip", v.RemoteIP),
			}
			if a, ok := modelkeep.ActorFrom(c.Request().Context()); ok {
				attrs = append(attrs, slog.String("actor", a.Subject))
			}
			if gone {
				attrs = append(attrs, slog.String("err", v.Error.Error()))
			}
			logger.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// statusClientClosedRequest is what a request whose client went away before
// it was answered is recorded with (nginx's 499, "client closed request"):
// it is not a server error, whatever error its handler ended with.
const statusClientClosedRequest = 499

// clientKey holds, in the echo.Context, the request's context as the HTTP
// server made it: canceled when the client's connection closes.
const clientKey = "modelkeep.client"

// rememberClient records the request's own context before any middleware
// derives one (a derived context may be canceled by its middleware on the
// way out, which says nothing about the client).
func rememberClient(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(clientKey, c.Request().Context())
		return next(c)
	}
}

// clientGone reports whether the client closed its connection (or, over
// HTTP/2, canceled its request).
func clientGone(c echo.Context) bool {
	ctx, ok := c.Get(clientKey).(context.Context)
	return ok && errors.Is(ctx.Err(), context.Canceled)
}

// recordedStatus is the status the request log and the metrics record for
// a request whose handler returned err: 499 when it failed because (or
// after) its client went away, 0 when no answer was sent, else the status
// sent.
func recordedStatus(c echo.Context, err error) int {
	switch {
	case err != nil && clientGone(c):
		return statusClientClosedRequest
	case err != nil && !c.Response().Committed:
		return 0
	}
	return c.Response().Status
}

// unlessClientGone answers errors with next, except those of requests
// whose client went away: nobody reads the answer, and the error (most
// often "context canceled" from the database or the body) is the client's
// leaving, not a failure to log (the request line records it, as 499).
func unlessClientGone(next echo.HTTPErrorHandler) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if clientGone(c) {
			return
		}
		next(err, c)
	}
}

// statsCounter makes counters that read one field each of the snapshot
// stats takes.
func statsCounter[S any](stats func() S) func(name, help string, field func(S) uint64) prometheus.Collector {
	return func(name, help string, field func(S) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(field(stats())) })
	}
}

// registerVersionCreateMetrics exposes how creates of versions shared
// their transactions (store/versions_batch.go).
func registerVersionCreateMetrics(reg *prometheus.Registry, meta *store.Store) {
	count := statsCounter(meta.VersionCreateStats)
	reg.MustRegister(
		count("modelkeep_version_create_batches_total", "Transactions that created versions, a lone create's included (group commit).",
			func(s store.VersionCreateStats) uint64 { return s.Batches }),
		count("modelkeep_version_create_batched_total", "Version creates run in those transactions; divided by the batches, the mean batch size.",
			func(s store.VersionCreateStats) uint64 { return s.Creates }),
		count("modelkeep_version_create_reruns_total", "Version creates run again alone after their shared transaction failed.",
			func(s store.VersionCreateStats) uint64 { return s.Reruns }),
	)
}

// registerReadyCacheMetrics exposes what the store's ready-version cache
// does (store/readycache.go): whether it serves (it stops while the audit
// chain lags behind other processes' changes) and how reads went.
func registerReadyCacheMetrics(reg *prometheus.Registry, meta *store.Store) {
	count := statsCounter(meta.ReadyCacheStats)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modelkeep_ready_cache_serving",
			Help: "1 while the cache of ready versions serves reads, 0 while they go to the database (its change follower is behind or failing).",
		}, func() float64 {
			if meta.ReadyCacheStats().Serving {
				return 1
			}
			return 0
		}),
		count("modelkeep_ready_cache_hits_total", "Version reads answered from the cache of ready versions.",
			func(s store.ReadyCacheStats) uint64 { return s.Hits }),
		count("modelkeep_ready_cache_misses_total", "Version reads that went to the database while the cache served.",
			func(s store.ReadyCacheStats) uint64 { return s.Misses }),
		count("modelkeep_ready_cache_bypassed_total", "Version reads that went to the database while the cache did not serve.",
			func(s store.ReadyCacheStats) uint64 { return s.Bypassed }),
	)
}
