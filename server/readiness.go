package server

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/netcause"
)

// notReady says why a backing service failed its readiness check
// (modelkeep.Service.Ready), for /readyz: a few fixed words, never the
// error's own text, which may name a user, a DSN or a key.
func notReady(check string, err error) string {
	if check == "database" {
		return databaseCause(err)
	}
	// The blob stores' Ping says why in the message of its *modelkeep.Error
	// (store/blob).
	var why *modelkeep.Error
	if errors.As(err, &why) {
		return why.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	return "unavailable"
}

// mysqlCauses names the MySQL server errors a ping can meet.
var mysqlCauses = map[uint16]string{
	1040: "too many connections",
	1045: "access denied: user or password refused",
	1049: "database not found",
	1053: "server shutting down",
	1290: "server is read-only",
	1836: "server is read-only",
}

// databaseCause says why the database did not answer. The store's error
// says only "database unavailable" to a user; its chain holds the driver's
// and the network's errors.
func databaseCause(err error) string {
	var mysqlErr *mysql.MySQLError
	if errors.As(err, &mysqlErr) {
		if cause, ok := mysqlCauses[mysqlErr.Number]; ok {
			return cause
		}
	}
	if cause := netcause.Of(err); cause != "" {
		return cause
	}
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return "connection closed by the server"
	}
	return "unavailable"
}
