package chtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/teller-analytics/teller/pkg/store"
)

// libchdb's C API (chdb.h of chdb 3.x), bound lazily through purego so that
// a test binary without the library still starts and can say how to install
// it. chdb-go's own binding opens the library in a package init and panics
// when it is missing, before any test could report why.
type chdbLib struct {
	connect       func(argc int32, argv []*byte) unsafe.Pointer // chdb_connection *
	closeConn     func(conn unsafe.Pointer)
	query         func(conn unsafe.Pointer, query, format string) unsafe.Pointer // chdb_result *
	destroyResult func(res unsafe.Pointer)
	resultBuffer  func(res unsafe.Pointer) unsafe.Pointer
	resultLength  func(res unsafe.Pointer) uintptr
	resultError   func(res unsafe.Pointer) string
}

var (
	libOnce sync.Once
	lib     *chdbLib
	libErr  error
)

func loadLib(path string) (*chdbLib, error) {
	libOnce.Do(func() {
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			libErr = fmt.Errorf("chtest: load %s: %w", path, err)
			return
		}
		l := &chdbLib{}
		for name, fn := range map[string]any{
			"chdb_connect": &l.connect, "chdb_close_conn": &l.closeConn, "chdb_query": &l.query,
			"chdb_destroy_query_result": &l.destroyResult, "chdb_result_buffer": &l.resultBuffer,
			"chdb_result_length": &l.resultLength, "chdb_result_error": &l.resultError,
		} {
			if _, err := purego.Dlsym(h, name); err != nil {
				libErr = fmt.Errorf("chtest: %s has no %s (not a chdb 3.x library?): %w", path, name, err)
				return
			}
			purego.RegisterLibFunc(fn, h, name)
		}
		lib = l
	})
	return lib, libErr
}

// chdbConn is one chdb connection: a ClickHouse engine whose tables live in
// dir. libchdb allows one per process; its calls are serialised here.
type chdbConn struct {
	mu   sync.Mutex
	lib  *chdbLib
	conn unsafe.Pointer // chdb_connection *
	dir  string
}

func openChdb(l *chdbLib, dir string) (*chdbConn, error) {
	args := []string{"clickhouse", "--path=" + dir}
	argv := make([]*byte, len(args))
	keep := make([][]byte, len(args))
	for i, a := range args {
		keep[i] = append([]byte(a), 0)
		argv[i] = &keep[i][0]
	}
	conn := l.connect(int32(len(argv)), argv)
	runtime.KeepAlive(keep)
	if conn == nil {
		return nil, errors.New("chtest: chdb_connect failed for " + dir)
	}
	return &chdbConn{lib: l, conn: conn, dir: dir}, nil
}

// run executes one statement in database and returns its output in format.
func (c *chdbConn) run(database, query, format string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, errors.New("chtest: chdb connection is closed")
	}
	if database != "" {
		if _, err := c.runLocked("USE "+quoteIdent(database), "TabSeparated"); err != nil {
			return nil, err
		}
	}
	return c.runLocked(query, format)
}

func (c *chdbConn) runLocked(query, format string) ([]byte, error) {
	res := c.lib.query(*(*unsafe.Pointer)(c.conn), query, format)
	if res == nil {
		return nil, nil
	}
	defer c.lib.destroyResult(res)
	if msg := c.lib.resultError(res); msg != "" {
		return nil, errors.New(msg)
	}
	n := c.lib.resultLength(res)
	buf := c.lib.resultBuffer(res)
	if n == 0 || buf == nil {
		return nil, nil
	}
	return append([]byte(nil), unsafe.Slice((*byte)(buf), n)...), nil
}

func (c *chdbConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.lib.closeConn(c.conn)
		c.conn = nil
	}
	os.RemoveAll(c.dir)
}

// The process's one chdb connection, shared by every database opened on it
// and closed (its folder removed) when the last one closes.
var shared struct {
	sync.Mutex
	conn  *chdbConn
	users int
}

func acquireChdb() (*chdbConn, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.conn == nil {
		path, err := ChdbLibPath()
		if err != nil {
			return nil, err
		}
		l, err := loadLib(path)
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "teller-chdb-")
		if err != nil {
			return nil, err
		}
		if shared.conn, err = openChdb(l, dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	shared.users++
	return shared.conn, nil
}

func releaseChdb() {
	shared.Lock()
	defer shared.Unlock()
	if shared.users--; shared.users == 0 && shared.conn != nil {
		shared.conn.close()
		shared.conn = nil
	}
}

// chdbDB is one database in the chdb engine. It implements store.Querier
// and Inserter; statements run one at a time. A chdb call cannot be
// cancelled: ctx is checked before each statement, not during it.
type chdbDB struct {
	conn     *chdbConn
	database string
}

var _ DB = (*chdbDB)(nil)

func (d *chdbDB) Exec(ctx context.Context, query string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q, err := store.Bind(query, args...)
	if err != nil {
		return err
	}
	_, err = d.conn.run(d.database, q, "TabSeparated")
	return err
}

func (d *chdbDB) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q, err := store.Bind(query, args...)
	if err != nil {
		return nil, err
	}
	if s := settingsFrom(ctx); len(s) > 0 {
		if q, err = withSettings(q, s); err != nil {
			return nil, err
		}
	}
	out, err := d.conn.run(d.database, q, "TabSeparatedWithNamesAndTypes")
	if err != nil {
		return nil, err
	}
	return parseTSV(out)
}

// Insert writes rows with one INSERT ... VALUES of literals.
func (d *chdbDB) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES", table, strings.Join(columns, ", "))
	for i, row := range rows {
		if len(row) != len(columns) {
			return fmt.Errorf("chtest: insert into %s: row %d has %d values for %d columns", table, i, len(row), len(columns))
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" (")
		for j, v := range row {
			lit, err := store.Literal(v)
			if err != nil {
				return fmt.Errorf("chtest: insert into %s: row %d, %s: %w", table, i, columns[j], err)
			}
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(lit)
		}
		b.WriteByte(')')
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := d.conn.run(d.database, b.String(), "TabSeparated"); err != nil {
		return fmt.Errorf("chtest: insert %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}

// withSettings appends a SETTINGS clause to a SELECT.
func withSettings(query string, settings map[string]any) (string, error) {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		lit, err := store.Literal(settings[k])
		if err != nil {
			return "", fmt.Errorf("chtest: setting %s: %w", k, err)
		}
		parts[i] = k + " = " + lit
	}
	return strings.TrimRight(query, " \n\t;") + "\nSETTINGS " + strings.Join(parts, ", "), nil
}

func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}
