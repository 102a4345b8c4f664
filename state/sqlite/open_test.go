package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin/tocsin/checks"
	"github.com/tocsin/tocsin/state"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// openT opens a store at path (a new file in a temp dir when empty) and
// closes it when the test ends.
func openT(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "tocsin.db")
	}
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens path with no store around it, to set a file up or look at it.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenMigrates(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"missing file", func(*testing.T, string) {}},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tocsin.db")
			tt.setup(t, path)
			for i := range 2 { // the second open finds it up to date
				s, err := Open(context.Background(), path, Options{Now: fixedNow})
				if err != nil {
					t.Fatalf("open #%d: %v", i+1, err)
				}
				l, err := s.Load(context.Background())
				if err != nil || len(l.States) != 0 || l.LastIncidentID != 0 {
					t.Fatalf("Load of a new store = %+v, %v; want empty", l, err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			db := rawDB(t, path)
			if got, want := pragma(t, db, "user_version"), fmt.Sprint(len(migrations)); got != want {
				t.Errorf("user_version = %s, want %s", got, want)
			}
			if got, want := pragma(t, db, "application_id"), fmt.Sprint(applicationID); got != want {
				t.Errorf("application_id = %s, want %s", got, want)
			}
			if got := pragma(t, db, "journal_mode"); got != "wal" {
				t.Errorf("journal_mode = %s, want wal", got)
			}
		})
	}
}

func TestOpenSettings(t *testing.T) {
	s := openT(t, "", Options{})
	for _, tt := range []struct {
		db      *sql.DB
		pragma  string
		want    string
		comment string
	}{
		{s.w, "synchronous", "2", "FULL"},
		{s.w, "foreign_keys", "1", ""},
		{s.w, "busy_timeout", "5000", ""},
		{s.w, "journal_mode", "wal", ""},
		{s.r, "query_only", "1", "readers cannot write"},
		{s.r, "busy_timeout", "5000", ""},
	} {
		if got := pragma(t, tt.db, tt.pragma); got != tt.want {
			t.Errorf("PRAGMA %s = %s, want %s %s", tt.pragma, got, tt.want, tt.comment)
		}
	}
}

func TestOpenPathWithOddCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#%", "tocsin?x=1#y.db")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s := openT(t, path, Options{})
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the store is not at the path asked for: %v", err)
	}
}

// makeStoreFile creates a closed, filled state file at path.
func makeStoreFile(t *testing.T, path string) {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	b := &state.Batch{}
	for i := range 3000 {
		b.Results = append(b.Results, checks.Result{Target: fmt.Sprintf("t%d", i%7), Kind: checks.KindHTTP,
			Time: t0.Add(time.Duration(i) * time.Second), OK: i%3 != 0,
			Reason: strings.Repeat("x", 100)})
	}
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenUnusable(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares dir and returns the path to open.
		setup func(t *testing.T, dir string) string
		want  string // in the error message
		// kept is true when the file exists and must be left as it was.
		kept bool
	}{
		{
			name: "not a database",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				writeFile(t, p, bytes.Repeat([]byte("this is not a database\n"), 300))
				return p
			},
			want: "file is not a database (refusing to reset it; move it away to start anew)",
			kept: true,
		},
		{
			name: "a few bytes of garbage",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				writeFile(t, p, []byte("x"))
				return p
			},
			want: "file is not a database",
			kept: true,
		},
		{
			name: "truncated database",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				makeStoreFile(t, p)
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(p, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
				return p
			},
			want: "database is damaged",
			kept: true,
		},
		{
			name: "damaged pages",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				makeStoreFile(t, p)
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				// Scribble over the middle, keeping the header intact.
				for i := len(data) / 3; i < len(data)/3+3*4096 && i < len(data); i++ {
					data[i] = 0xa5
				}
				writeFile(t, p, data)
				return p
			},
			want: "database is damaged",
			kept: true,
		},
		{
			name: "newer schema",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				makeStoreFile(t, p)
				db := rawDB(t, p)
				if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
					t.Fatal(err)
				}
				db.Close()
				return p
			},
			want: fmt.Sprintf("schema version 99 is newer than this tocsin knows (%d)", len(migrations)),
			kept: true,
		},
		{
			name: "another program's database",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				db := rawDB(t, p)
				if _, err := db.Exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)"); err != nil {
					t.Fatal(err)
				}
				db.Close()
				return p
			},
			want: "not a tocsin state file",
			kept: true,
		},
		{
			name: "foreign application id",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				db := rawDB(t, p)
				if _, err := db.Exec("PRAGMA application_id = 1234"); err != nil {
					t.Fatal(err)
				}
				db.Close()
				return p
			},
			want: "not a tocsin state file (application_id 0x4d2)",
			kept: true,
		},
		{
			name: "path is a directory",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "tocsin.db")
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
				return p
			},
			want: "is a directory",
		},
		{
			name: "parent is a regular file",
			setup: func(t *testing.T, dir string) string {
				parent := filepath.Join(dir, "file")
				writeFile(t, parent, []byte("hello"))
				return filepath.Join(parent, "tocsin.db")
			},
			want: "/file is not a directory",
		},
		{
			name: "parent missing",
			setup: func(t *testing.T, dir string) string {
				return filepath.Join(dir, "nope", "tocsin.db")
			},
			want: "/nope does not exist",
		},
		{
			name: "unwritable file",
			setup: func(t *testing.T, dir string) string {
				if os.Geteuid() != 0 {
					p := filepath.Join(dir, "tocsin.db")
					makeStoreFile(t, p)
					if err := os.Chmod(p, 0o444); err != nil {
						t.Fatal(err)
					}
					return p
				}
				// Root writes through any file mode; a read-only mount
				// stops it.
				mnt := filepath.Join(dir, "ro")
				if err := os.Mkdir(mnt, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=16m"); err != nil {
					t.Fatalf("mounting a tmpfs as root: %v", err)
				}
				t.Cleanup(func() {
					if err := syscall.Unmount(mnt, 0); err != nil {
						t.Errorf("unmounting %s: %v", mnt, err)
					}
				})
				p := filepath.Join(mnt, "tocsin.db")
				makeStoreFile(t, p)
				if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
					t.Fatalf("remounting %s read-only: %v", mnt, err)
				}
				return p
			},
			want: "cannot be opened for writing",
			kept: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			before, _ := os.ReadFile(path)
			s, err := Open(context.Background(), path, Options{Now: fixedNow})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded; want an error containing %q", path, tt.want)
			}
			if !errors.Is(err, ErrUnusable) {
				t.Errorf("Open error %v does not wrap ErrUnusable", err)
			}
			var ue *UnusableError
			if !errors.As(err, &ue) {
				t.Errorf("Open error %v is not an *UnusableError", err)
			}
			msg := err.Error()
			t.Logf("Open error: %s", msg)
			if !strings.HasPrefix(msg, "state file "+path+": ") || !strings.Contains(msg, tt.want) {
				t.Errorf("Open error = %q; want it to start with %q and contain %q", msg, "state file "+path+": ", tt.want)
			}
			if tt.kept {
				after, err := os.ReadFile(path)
				if err != nil || !bytes.Equal(before, after) {
					t.Errorf("Open changed the unusable file (read error %v)", err)
				}
				if !strings.Contains(msg, "refusing to reset it") {
					t.Errorf("Open error = %q; want the advice to move the file away", msg)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestUnusableErrorMessage(t *testing.T) {
	err := error(&UnusableError{Path: "/x/tocsin.db", Problem: "file is not a database", Existing: true})
	if got, want := err.Error(), "state file /x/tocsin.db: file is not a database (refusing to reset it; move it away to start anew)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(fmt.Errorf("open: %w", err), ErrUnusable) {
		t.Error("a wrapped UnusableError is not ErrUnusable")
	}
}

// TestOpenLocked: a second Open of a state file already open (another
// tocsin on the same file) is refused, naming the holder; once the first
// closes, the file opens again.
func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tocsin.db")
	first, err := Open(context.Background(), path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), path, Options{Now: fixedNow})
	if !errors.Is(err, ErrUnusable) || !strings.Contains(err.Error(), fmt.Sprintf("in use by another tocsin (pid %d)", os.Getpid())) {
		t.Fatalf("second Open = %v, want an ErrUnusable naming this process", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(context.Background(), path, Options{Now: fixedNow})
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	again.Close()
}
