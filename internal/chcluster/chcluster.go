// Package chcluster runs a real ClickHouse cluster on loopback for tests: one
// ZooKeeper server (Debian's zookeeper package, started from a configuration
// in a temporary folder, never the system service) and shards x replicas
// ClickHouse servers started through internal/chlocal, each with its macros
// ({shard}, {replica}), the cluster's remote_servers entry, the zookeeper
// section and an interserver port for replication fetches.
//
// It only starts, stops and restarts processes; the cluster schema belongs to
// pkg/store (cluster.go).
package chcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/teller-analytics/teller/internal/chlocal"
)

// Name is the cluster's name in remote_servers: what -clickhouse-cluster
// names.
const Name = "teller"

// zooKeeperJar is where Debian's zookeeper package puts the server; its
// manifest's Class-Path names every library it needs.
const zooKeeperJar = "/usr/share/java/zookeeper.jar"

// ErrNoZooKeeper means Debian's zookeeper package is missing.
var ErrNoZooKeeper = errors.New("ZooKeeper is not installed (on Debian: apt-get install -y zookeeper, or run scripts/install-deps.sh test)")

// Options configure a cluster. Zero values get the defaults noted.
type Options struct {
	// Dir holds every server's folder. Required.
	Dir string
	// Shards and Replicas per shard; default 2 and 2.
	Shards, Replicas int
	// Logger receives progress lines; default slog.Default().
	Logger *slog.Logger
}

// Cluster is a running ZooKeeper and its ClickHouse servers.
type Cluster struct {
	opts Options
	ZK   *ZooKeeper
	// Nodes are the servers, shard-major: shard 1's replicas first.
	Nodes []*Node
}

// Node is one ClickHouse server of the cluster. Its ports stay fixed across
// Stop and Start, so the cluster's remote_servers stay right.
type Node struct {
	Shard, Replica int // from 1
	dir            string
	tcp, http      int
	interserver    int
	log            *slog.Logger
	srv            *chlocal.Server
}

// Start starts ZooKeeper, then every ClickHouse server, and waits until all
// answer. On error what was started is stopped.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("chcluster: Options.Dir is required")
	}
	if opts.Shards == 0 {
		opts.Shards = 2
	}
	if opts.Replicas == 0 {
		opts.Replicas = 2
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Cluster{opts: opts}
	zk, err := StartZooKeeper(ctx, filepath.Join(opts.Dir, "zookeeper"), 0, opts.Logger)
	if err != nil {
		return nil, err
	}
	c.ZK = zk
	// Three ports a server (native, HTTP, interserver), all taken at once so
	// that none is handed out twice.
	ports, err := freePorts(3 * opts.Shards * opts.Replicas)
	if err != nil {
		c.Stop()
		return nil, err
	}
	for s := 1; s <= opts.Shards; s++ {
		for r := 1; r <= opts.Replicas; r++ {
			n := &Node{Shard: s, Replica: r, log: opts.Logger,
				dir: filepath.Join(opts.Dir, fmt.Sprintf("ch-s%d-r%d", s, r)),
				tcp: ports[0], http: ports[1], interserver: ports[2]}
			ports = ports[3:]
			c.Nodes = append(c.Nodes, n)
		}
	}
	for _, n := range c.Nodes {
		if err := c.writeClusterConfig(n); err != nil {
			c.Stop()
			return nil, err
		}
	}
	// One at a time: on a shared 2-core box four servers starting at once
	// each take long enough to hit their start timeout.
	for _, n := range c.Nodes {
		if err := n.Start(ctx); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Stop stops every server, all at once (each may take its 20 s to give
// up on open connections), then ZooKeeper.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _ = n.Stop() }()
	}
	wg.Wait()
	if c.ZK != nil {
		_ = c.ZK.Stop()
	}
}

// Addrs are the native-protocol addresses of every server, shard-major.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// Start starts the node's server (again), reusing its folder and ports.
func (n *Node) Start(ctx context.Context) error {
	srv, err := chlocal.Start(ctx, chlocal.Options{Dir: n.dir, TCPPort: n.tcp, HTTPPort: n.http,
		StartTimeout: 3 * time.Minute, Logger: n.log})
	if err != nil {
		return fmt.Errorf("chcluster: start shard %d replica %d: %w", n.Shard, n.Replica, err)
	}
	n.srv = srv
	// Ready means connected to ZooKeeper too: an ON CLUSTER statement sent
	// before that was seen to drop the connection on 18.16.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		_, err := srv.Query(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/'")
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chcluster: shard %d replica %d does not reach ZooKeeper: %w", n.Shard, n.Replica, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the node's server; Start brings it back with its data.
func (n *Node) Stop() error {
	if n.srv == nil {
		return nil
	}
	err := n.srv.Stop()
	n.srv = nil
	return err
}

// Addr is the node's native-protocol address.
func (n *Node) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.tcp) }

// Server is the node's running server, nil while it is stopped.
func (n *Node) Server() *chlocal.Server { return n.srv }

// Query runs a statement over the node's HTTP interface (set-up and checks).
func (n *Node) Query(ctx context.Context, query string) (string, error) {
	if n.srv == nil {
		return "", fmt.Errorf("chcluster: shard %d replica %d is stopped", n.Shard, n.Replica)
	}
	return n.srv.Query(ctx, query)
}

// writeClusterConfig writes config.d/cluster.xml into the node's folder,
// which the server merges into the config.xml chlocal writes.
func (c *Cluster) writeClusterConfig(n *Node) error {
	var shards strings.Builder
	for s := 1; s <= c.opts.Shards; s++ {
		// internal_replication: a Distributed insert goes to one replica of
		// the shard and ReplicatedMergeTree copies it to the others.
		shards.WriteString("            <shard>\n                <internal_replication>true</internal_replication>\n")
		for _, m := range c.Nodes {
			if m.Shard == s {
				fmt.Fprintf(&shards, "                <replica><host>127.0.0.1</host><port>%d</port></replica>\n", m.tcp)
			}
		}
		shards.WriteString("            </shard>\n")
	}
	cfg := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>%d</interserver_http_port>
    <macros>
        <shard>%d</shard>
        <replica>s%dr%d</replica>
    </macros>
    <zookeeper>
        <node><host>127.0.0.1</host><port>%d</port></node>
        <session_timeout_ms>30000</session_timeout_ms>
    </zookeeper>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
    <remote_servers>
        <%s>
%s        </%s>
    </remote_servers>
</yandex>
`, n.interserver, n.Shard, n.Shard, n.Replica, c.ZK.Port(), Name, shards.String(), Name)
	dir := filepath.Join(n.dir, "config.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("chcluster: create %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster.xml"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("chcluster: write cluster config: %w", err)
	}
	// Merged into chlocal's users.xml: the profile setting Teller's reports
	// need on a cluster (see store.CheckCluster).
	users := `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <distributed_product_mode>local</distributed_product_mode>
        </default>
    </profiles>
</yandex>
`
	dir = filepath.Join(n.dir, "users.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("chcluster: create %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster.xml"), []byte(users), 0o644); err != nil {
		return fmt.Errorf("chcluster: write cluster profile: %w", err)
	}
	return nil
}

// ZooKeeper is a standalone ZooKeeper server run as a child process.
type ZooKeeper struct {
	dir  string
	port int
	log  *slog.Logger
	cmd  *exec.Cmd
	done chan struct{}
}

// StartZooKeeper starts a standalone ZooKeeper with its data in dir on
// 127.0.0.1:port (0 picks a free port) and waits until it accepts
// connections. Its admin web server (port 8080 by default) is off.
func StartZooKeeper(ctx context.Context, dir string, port int, log *slog.Logger) (*ZooKeeper, error) {
	if _, err := os.Stat(zooKeeperJar); err != nil {
		return nil, ErrNoZooKeeper
	}
	if _, err := exec.LookPath("java"); err != nil {
		return nil, ErrNoZooKeeper
	}
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("chcluster: create %s: %w", dir, err)
	}
	zk := &ZooKeeper{dir: dir, port: port, log: log}
	return zk, zk.Start(ctx)
}

// Port is ZooKeeper's client port on 127.0.0.1.
func (z *ZooKeeper) Port() int { return z.port }

// Start starts the server (again) on the same data and port.
func (z *ZooKeeper) Start(ctx context.Context) error {
	cfg := fmt.Sprintf(`tickTime=2000
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
`, filepath.Join(z.dir, "data"), z.port)
	cfgPath := filepath.Join(z.dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("chcluster: write zoo.cfg: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(z.dir, "zookeeper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("chcluster: open ZooKeeper log: %w", err)
	}
	cmd := exec.Command("java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false",
		"-cp", zooKeeperJar, "org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
	cmd.Dir = z.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("chcluster: start ZooKeeper: %w", err)
	}
	z.cmd, z.done = cmd, make(chan struct{})
	done := z.done
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	z.log.Info("starting ZooKeeper", "dir", z.dir, "port", z.port)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		if z.serving() {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("chcluster: ZooKeeper exited during start-up; see %s", filepath.Join(z.dir, "zookeeper.log"))
		case <-ctx.Done():
			_ = z.Stop()
			return fmt.Errorf("chcluster: ZooKeeper did not answer; see %s: %w", filepath.Join(z.dir, "zookeeper.log"), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// serving asks the four-letter "srvr": it names the server's mode once it
// serves sessions. ("ruok" answers imok earlier, while sessions are still
// refused; a ClickHouse 18.16 started then keeps a broken DDL worker and
// crashes on its first ON CLUSTER statement.)
func (z *ZooKeeper) serving() bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(z.port), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return false
	}
	out, _ := io.ReadAll(c)
	return strings.Contains(string(out), "Mode: ")
}

// Stop ends ZooKeeper: SIGTERM, then SIGKILL after 20 s.
func (z *ZooKeeper) Stop() error {
	if z.cmd == nil {
		return nil
	}
	defer func() { z.cmd = nil }()
	select {
	case <-z.done:
		return nil
	default:
	}
	_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-z.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
		<-z.done
		return errors.New("chcluster: ZooKeeper did not stop within 20 s; killed")
	}
}

func freePort() (int, error) {
	p, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// freePorts finds n distinct free loopback ports, holding each open until
// all are found.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("chcluster: find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
