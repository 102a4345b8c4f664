// Package sqlite is tocsin's state.Store on modernc.org/sqlite (pure Go, no
// cgo). The same database is the notify.Outbox: an event and its deliveries
// are written in the transaction that commits the transition causing them,
// so a crash can delay an alert but never lose it.
//
// The file is opened in WAL mode with synchronous=FULL: once Commit returns,
// its rows survive a crash or power loss. A file that is not a usable tocsin
// database is never reset: Open fails with an error wrapping ErrUnusable.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tocsin/tocsin/notify"
	"github.com/tocsin/tocsin/state"
)

var (
	_ state.Store   = (*Store)(nil)
	_ notify.Outbox = (*Store)(nil)
)

// ErrUnusable is wrapped by every error Open returns for a state file that
// cannot be used as it is: not a database, damaged, unwritable, a directory,
// written by a newer tocsin. The command line maps it to exit code 2. Open
// never deletes or recreates such a file; the user decides.
var ErrUnusable = errors.New("unusable state file")

// ErrNotFound is wrapped by the outbox methods when the delivery id they are
// given does not exist.
var ErrNotFound = errors.New("not found")

// UnusableError says why a state file cannot be used. It matches
// ErrUnusable with errors.Is.
type UnusableError struct {
	Path    string // the file, as an absolute path
	Problem string // what is wrong, e.g. "file is not a database"
	// Existing is true when the file is there (and is kept as it is): the
	// message then tells the user to move it away.
	Existing bool
	Err      error // the underlying error, if any
}

func (e *UnusableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "state file %s: %s", e.Path, e.Problem)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Existing {
		b.WriteString(" (refusing to reset it; move it away to start anew)")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *UnusableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnusable.
func (e *UnusableError) Is(target error) bool { return target == ErrUnusable }

// Options configures a Store. Zero values take the defaults.
type Options struct {
	// Now is the clock (delivery times, RunPruner); nil means time.Now.
	Now func() time.Time
	// KeepResults is how long raw check results are kept (default 48h).
	KeepResults time.Duration
	// KeepPerTarget is how many newest results of each target are kept at
	// most (default 200).
	KeepPerTarget int
	// KeepHourly is how long hourly rollups are kept (default 30 days).
	KeepHourly time.Duration
	// KeepDelivered is how long delivered deliveries are kept as history
	// (default 7 days).
	KeepDelivered time.Duration
	// KeepIncidents is how long closed incidents (and their message refs)
	// are kept after they ended (default 400 days): history for uptime
	// reports, bounded for fleets that flap.
	KeepIncidents time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeepResults <= 0 {
		o.KeepResults = 48 * time.Hour
	}
	if o.KeepPerTarget <= 0 {
		o.KeepPerTarget = 200
	}
	if o.KeepHourly <= 0 {
		o.KeepHourly = 30 * 24 * time.Hour
	}
	if o.KeepDelivered <= 0 {
		o.KeepDelivered = 7 * 24 * time.Hour
	}
	if o.KeepIncidents <= 0 {
		o.KeepIncidents = 400 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Store is the SQLite state store and outbox. Every method is safe for
// concurrent use. Writes go through one connection (SQLite has one writer
// anyway); reads use a small pool of read-only connections, which WAL lets
// run beside a write.
type Store struct {
	path string
	opts Options
	w    *sql.DB  // the one writer
	r    *sql.DB  // readers, query_only
	lock *os.File // flock held while open
}

// sqliteHeader is how every SQLite 3 database file begins.
var sqliteHeader = []byte("SQLite format 3\x00")

// Open opens the state file at path, creating it (not its directory) when
// missing, and migrates it to the current schema. It fails with an error
// wrapping ErrUnusable (an *UnusableError) when the parent directory is
// missing or not a directory, when path is a directory, when the file is not
// a SQLite database, fails PRAGMA quick_check, belongs to another program,
// has a schema version newer than this code knows, or cannot be written.
// Other errors (ctx ended) are returned as they are.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts.setDefaults()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &UnusableError{Path: path, Problem: "bad path", Err: err}
	}
	existing, err := precheck(abs)
	if err != nil {
		return nil, err
	}
	unusable := func(problem string, err error) error {
		return &UnusableError{Path: abs, Problem: problem, Existing: existing, Err: err}
	}
	lock, err := lockFile(abs)
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			lock.Close()
		}
	}()

	// Per-connection settings go in the DSN, so a connection database/sql
	// reopens gets them too. journal_mode is left out on purpose: it is a
	// persistent property of the file, set once below, and only after the
	// file passed its checks, so Open writes nothing to a damaged file.
	const common = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", dsn(abs, common+"&_pragma=synchronous(FULL)&_txlock=immediate"))
	if err != nil {
		return nil, unusable("cannot open", err)
	}
	w.SetMaxOpenConns(1)
	s := &Store{path: abs, opts: opts, w: w, lock: lock}
	if err := s.prepare(ctx, unusable); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(abs, common+"&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, unusable("cannot open", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, classify(err, unusable)
	}
	s.r = r
	opened = true
	return s, nil
}

// lockFile takes an exclusive flock on PATH.lock for as long as the store
// is open: two daemons on one state file would both drain its outbox and
// send every alert twice. The kernel drops the lock when the process dies,
// so a kill -9 leaves nothing stale behind.
func lockFile(abs string) (*os.File, error) {
	name := abs + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &UnusableError{Path: abs, Problem: "cannot create its lock file " + name, Err: err}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		who := "another tocsin"
		if pid := strings.TrimSpace(string(holder)); pid != "" {
			who += " (pid " + pid + ")"
		}
		return nil, &UnusableError{Path: abs, Problem: "in use by " + who, Err: err}
	}
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%d\n", os.Getpid())
	}
	return f, nil
}

// dsn builds a modernc.org/sqlite URI DSN for the file at abs. The path is
// percent-encoded where SQLite's URI parser would misread it.
func dsn(abs, query string) string {
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
	return "file:" + p + "?" + query
}

// precheck looks at path before SQLite does, for the clearest error and so
// SQLite never touches a file that is plainly not a database. It reports
// whether the file exists (a zero-length file counts: SQLite treats it as
// a new, empty database).
func precheck(path string) (existing bool, err error) {
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, &UnusableError{Path: path, Problem: fmt.Sprintf("directory %s does not exist", dir)}
	case err != nil:
		return false, &UnusableError{Path: path, Problem: "cannot reach its directory", Err: err}
	case !di.IsDir():
		return false, &UnusableError{Path: path, Problem: fmt.Sprintf("%s is not a directory", dir)}
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, &UnusableError{Path: path, Problem: "cannot stat", Err: err}
	case fi.IsDir():
		return true, &UnusableError{Path: path, Problem: "is a directory", Existing: true}
	case !fi.Mode().IsRegular():
		return true, &UnusableError{Path: path, Problem: "is not a regular file", Existing: true}
	}
	// O_RDWR without O_CREATE: checks writability without creating or
	// changing anything. (As root this passes even on a mode 0444 file, but
	// not on a read-only file system.)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return true, &UnusableError{Path: path, Problem: "cannot be opened for writing", Existing: true, Err: err}
	}
	defer f.Close()
	if fi.Size() == 0 {
		return true, nil
	}
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		return true, &UnusableError{Path: path, Problem: "file is not a database", Existing: true}
	}
	return true, nil
}

// prepare checks the opened file, switches it to WAL and migrates it.
func (s *Store) prepare(ctx context.Context, unusable func(string, error) error) error {
	if err := s.w.PingContext(ctx); err != nil {
		return classify(err, unusable)
	}
	var check string
	if err := s.w.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&check); err != nil {
		return classify(err, unusable)
	}
	if check != "ok" {
		// quick_check's report spans lines; an error message should not.
		check = strings.Join(strings.Fields(check), " ")
		return unusable("database is damaged (quick_check: "+check+")", nil)
	}
	var appID, version int64
	if err := s.w.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return classify(err, unusable)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return classify(err, unusable)
	}
	switch {
	case appID != 0 && appID != applicationID:
		return unusable(fmt.Sprintf("not a tocsin state file (application_id %#x)", appID), nil)
	case appID == 0:
		// A database nobody marked: fine when it is empty (new), not when
		// another program keeps tables in it.
		var n int
		if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return classify(err, unusable)
		}
		if n > 0 || version != 0 {
			return unusable("not a tocsin state file (it holds another program's tables)", nil)
		}
	}
	if version > int64(len(migrations)) {
		return unusable(fmt.Sprintf("schema version %d is newer than this tocsin knows (%d); run a newer tocsin", version, len(migrations)), nil)
	}

	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return classify(err, unusable)
	}
	if !strings.EqualFold(mode, "wal") {
		return unusable("cannot switch to WAL journal mode (journal_mode is "+mode+")", nil)
	}
	for v := int(version); v < len(migrations); v++ {
		if err := s.migrate(ctx, v); err != nil {
			return classify(err, func(p string, err error) error {
				return unusable(fmt.Sprintf("migration to schema version %d failed: %s", v+1, p), err)
			})
		}
		s.opts.Logger.Info("state file migrated", "path", s.path, "version", v+1)
	}
	// An up-to-date file had no write yet: prove it can be written now,
	// rather than at the first transition. SQLite quietly opens a file it
	// may not write read-only; BEGIN IMMEDIATE takes the write lock.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, unusable)
	}
	return tx.Rollback()
}

// migrate applies step v (0-based) and sets user_version to v+1 in one
// transaction.
func (s *Store) migrate(ctx context.Context, v int) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return err
	}
	// PRAGMA takes no bound parameters; both values are ours.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return err
	}
	return tx.Commit()
}

// classify turns the SQLite errors that mean "this file cannot be used"
// into unusable errors and returns others as they are.
func classify(err error, unusable func(string, error) error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return unusable("file is not a database", err)
	case sqlite3.SQLITE_CORRUPT:
		return unusable("database is damaged", err)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		return unusable("cannot be written", err)
	case sqlite3.SQLITE_CANTOPEN:
		return unusable("cannot be opened", err)
	case sqlite3.SQLITE_IOERR:
		return unusable("I/O error", err)
	case sqlite3.SQLITE_FULL:
		return unusable("disk full", err)
	}
	return err
}

// Path returns the absolute path of the state file.
func (s *Store) Path() string { return s.path }

// Close closes the store; the last connection to close checkpoints the WAL
// into the main file.
func (s *Store) Close() error {
	var err error
	if s.r != nil {
		err = s.r.Close()
	}
	err = errors.Join(err, s.w.Close())
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
	}
	return err
}

// nanos stores t as unix nanoseconds; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos; times come back in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
