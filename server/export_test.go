package server

import "time"

// SetSessionClock makes the browser sessions of a server built from cfg
// run on now, so that tests can move past idle and absolute expiry without
// sleeping.
func SetSessionClock(cfg *Config, now func() time.Time) { cfg.now = now }
