package collector_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/spool"
)

const (
	durableTopic     = "events"
	durableDLQ       = "events.invalid"
	durablePartition = 6
)

// restartableKafka is a kfake broker that keeps its data in a directory, so
// it can be closed and started again on the same port, as a broker restart.
type restartableKafka struct {
	t    *testing.T
	dir  string
	port int
	c    *kfake.Cluster
}

func newRestartableKafka(t *testing.T) *restartableKafka {
	k := &restartableKafka{t: t, dir: t.TempDir(), port: freePort(t)}
	k.start()
	t.Cleanup(func() {
		if k.c != nil {
			k.c.Close()
		}
	})
	return k
}

func (k *restartableKafka) start() {
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after Close
		k.c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(k.port), kfake.DataDir(k.dir),
			kfake.SeedTopics(durablePartition, durableTopic), kfake.SeedTopics(1, durableDLQ))
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.t.Fatalf("start kfake on port %d: %v", k.port, err)
}

func (k *restartableKafka) stop() { k.c.Close(); k.c = nil }

func (k *restartableKafka) brokers() []string { return []string{fmt.Sprintf("127.0.0.1:%d", k.port)} }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// durableCollector is a collector publishing through a spool, as app wires it.
type durableCollector struct {
	handler http.Handler
	pub     *collector.SpoolPublisher
	sp      *spool.Spool
	stop    func() // stops draining and closes Kafka and the spool
}

func newDurableCollector(brokers []string, dir string, maxBytes int64, fsync spool.Fsync, readyBytes int64) (*durableCollector, error) {
	log := testenv.Logger(&testing.T{})
	sp, err := spool.Open(spool.Options{Dir: dir, MaxBytes: maxBytes, Fsync: fsync, Logger: log})
	if err != nil {
		return nil, err
	}
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: durableTopic}, log)
	reg := service.NewRegistry()
	pub := collector.NewSpoolPublisher(sp, producer, collector.SpoolOptions{ReadyBytes: readyBytes, Logger: log, Registerer: reg, Retry: 50 * time.Millisecond})
	signer, _ := identity.NewSigner("collector-test-key-0123456789")
	c, err := collector.New(collector.Options{Publisher: pub, Sites: sites, Signer: signer, DeadLetterTopic: durableDLQ,
		PublishTimeout: 3 * time.Second, Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	r := service.NewEngine(log)
	service.Mount(r, reg, map[string]service.Check{"spool": pub.Ready})
	c.Mount(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pub.Run(ctx); close(done) }()
	return &durableCollector{handler: r, pub: pub, sp: sp, stop: func() {
		cancel()
		<-done
		fctx, fcancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer fcancel()
		if err := pub.Flush(fctx); err != nil {
			log.Error("flush", "err", err)
		}
		producer.Close()
		sp.Close()
	}}, nil
}

// accepted is one event the collector answered 202 for.
type accepted struct {
	visitor int // the load's own visitor number
	id      uuid.UUID
}

// load sends perVisitor page views from each of visitors browsers over real
// HTTP, each browser one request at a time keeping its cookie, retrying
// refused or failed requests; disrupt runs once half the events are in. It
// returns the accepted events in the order each visitor's were accepted.
func load(t *testing.T, base string, visitors, perVisitor int, disrupt func()) ([]accepted, int) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: visitors}}
	var mu sync.Mutex
	var out []accepted
	var failures atomic.Int64
	var total atomic.Int64
	var once sync.Once
	var wg, disrupting sync.WaitGroup
	deadline := time.Now().Add(90 * time.Second)
	for v := 0; v < visitors; v++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cookie := ""
			for n := 0; n < perVisitor && time.Now().Before(deadline); {
				body := fmt.Sprintf(`{"site":"shop","kind":"pageview","url":"https://shop.example/v%d/p%d"}`, v, n)
				req, _ := http.NewRequest(http.MethodPost, base+"/api/event", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if cookie != "" {
					req.Header.Set("Cookie", identity.CookieName+"="+cookie)
				}
				resp, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				for _, c := range resp.Cookies() {
					if c.Name == identity.CookieName {
						cookie = c.Value
					}
				}
				var a struct{ ID uuid.UUID }
				if err := json.Unmarshal(b, &a); err != nil {
					t.Errorf("202 body %q: %v", b, err)
					return
				}
				mu.Lock()
				out = append(out, accepted{visitor: v, id: a.ID})
				mu.Unlock()
				n++
				if total.Add(1) == int64(visitors*perVisitor/2) && disrupt != nil {
					disrupting.Add(1)
					go func() { defer disrupting.Done(); once.Do(disrupt) }()
				}
			}
		}()
	}
	wg.Wait()
	disrupting.Wait()
	if len(out) != visitors*perVisitor {
		t.Fatalf("only %d of %d events accepted within the time limit (%d failed attempts)", len(out), visitors*perVisitor, failures.Load())
	}
	return out, int(failures.Load())
}

// kafkaRecord is one event found in the topic.
type kafkaRecord struct {
	partition int
	offset    int64
	key       string
	value     []byte
}

// readTopic reads every message of the topic, partition by partition.
func readTopic(t *testing.T, brokers []string, topic string, partitions int) []kafkaRecord {
	t.Helper()
	var out []kafkaRecord
	for p := 0; p < partitions; p++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, kafkaRecord{partition: p, offset: m.Offset, key: string(m.Key), value: m.Value})
			if m.Offset >= last-1 {
				break
			}
		}
		cancel()
		r.Close()
	}
	return out
}

// checkDelivered asserts every accepted event is in Kafka, each visitor's in
// the order they were accepted (one partition, rising offsets), and that any
// duplicate is a byte-identical copy. It returns the duplicate count and the
// number of records that were never answered 202 (in flight at a crash).
func checkDelivered(t *testing.T, acc []accepted, recs []kafkaRecord) (dups, unanswered int) {
	t.Helper()
	type seen struct {
		rec   kafkaRecord
		count int
	}
	byID := map[uuid.UUID]*seen{}
	for _, r := range recs {
		ev, err := event.Unmarshal(r.value)
		if err != nil {
			t.Fatalf("partition %d offset %d: %v", r.partition, r.offset, err)
		}
		if s, ok := byID[ev.ID]; ok {
			if !bytes.Equal(s.rec.value, r.value) {
				t.Errorf("event %s duplicated with different content", ev.ID)
			}
			s.count++
			dups++
			continue
		}
		byID[ev.ID] = &seen{rec: r, count: 1}
	}
	accIDs := map[uuid.UUID]bool{}
	last := map[int]kafkaRecord{}
	for _, a := range acc {
		accIDs[a.id] = true
		s, ok := byID[a.id]
		if !ok {
			t.Errorf("accepted event %s of visitor %d is not in Kafka", a.id, a.visitor)
			continue
		}
		if prev, ok := last[a.visitor]; ok && prev.key == s.rec.key {
			if prev.partition != s.rec.partition || prev.offset >= s.rec.offset {
				t.Errorf("visitor %d out of order: partition %d offset %d, then partition %d offset %d",
					a.visitor, prev.partition, prev.offset, s.rec.partition, s.rec.offset)
			}
		}
		last[a.visitor] = s.rec
	}
	for id := range byID {
		if !accIDs[id] {
			unanswered++
		}
	}
	return dups, unanswered
}

func waitDrained(t *testing.T, sp *spool.Spool) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if sp.Pending() == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("spool still holds %d bytes", sp.Pending())
}

// TestKafkaRestartMidLoad closes the broker in the middle of a load over real
// HTTP and starts it again on the same port: every accepted event reaches
// Kafka, each visitor's in order.
func TestKafkaRestartMidLoad(t *testing.T) {
	k := newRestartableKafka(t)
	dc, err := newDurableCollector(k.brokers(), t.TempDir(), 256<<20, spool.FsyncEvery(100*time.Millisecond), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dc.handler)
	defer srv.Close()
	var downFor time.Duration
	var spooledWhileDown int64
	acc, failures := load(t, srv.URL, 100, 30, func() {
		k.stop()
		start := time.Now()
		time.Sleep(1500 * time.Millisecond) // accepted meanwhile: into the spool only
		spooledWhileDown = dc.sp.Pending()
		k.start()
		downFor = time.Since(start)
	})
	waitDrained(t, dc.sp)
	dc.stop()
	recs := readTopic(t, k.brokers(), durableTopic, durablePartition)
	dups, unanswered := checkDelivered(t, acc, recs)
	t.Logf("%d accepted, %d failed attempts, Kafka down %v; in Kafka %d records: %d duplicates, %d never answered",
		len(acc), failures, downFor.Round(time.Millisecond), len(recs), dups, unanswered)
	if unanswered != 0 {
		t.Errorf("%d events in Kafka were never accepted", unanswered)
	}
	t.Logf("%d bytes waited in the spool while Kafka was down", spooledWhileDown)
	if spooledWhileDown == 0 {
		t.Error("nothing was spooled while Kafka was down: the outage did not happen during the load")
	}
}

// TestSpoolFullAnswers503 fills a small spool while Kafka is unreachable:
// the collector answers 503, readiness fails, and nothing accepted is lost
// once Kafka is there.
func TestSpoolFullAnswers503(t *testing.T) {
	port := freePort(t) // nothing listens there yet
	dir := t.TempDir()
	dc, err := newDurableCollector([]string{fmt.Sprintf("127.0.0.1:%d", port)}, dir, 64<<10, spool.FsyncNever, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dc.handler)
	defer srv.Close()
	ok, full := 0, 0
	var ids []uuid.UUID
	for i := 0; i < 2000 && full == 0; i++ {
		resp, body := post(t, http.DefaultClient, srv.URL, `{"site":"shop","kind":"pageview","url":"https://shop.example/"}`, nil)
		switch resp.StatusCode {
		case http.StatusAccepted:
			ok++
			var a struct{ ID uuid.UUID }
			_ = json.Unmarshal([]byte(body), &a)
			ids = append(ids, a.ID)
		case http.StatusServiceUnavailable:
			full++
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
	if full == 0 || ok == 0 {
		t.Fatalf("%d accepted, %d refused: want the spool to fill", ok, full)
	}
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "spool holds") {
		t.Fatalf("readyz with a full spool: %d %s", resp.StatusCode, b)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(durablePartition, durableTopic), kfake.SeedTopics(1, durableDLQ))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitDrained(t, dc.sp)
	dc.stop()
	acc := make([]accepted, len(ids))
	for i, id := range ids {
		acc[i] = accepted{visitor: i, id: id}
	}
	dups, _ := checkDelivered(t, acc, readTopic(t, []string{fmt.Sprintf("127.0.0.1:%d", port)}, durableTopic, durablePartition))
	t.Logf("%d accepted, then 503; %d duplicates after Kafka came up", ok, dups)
}

// TestDeadLetterKeepsRefusedInput: a 400 refusal's payload, reason, time and
// site land in the dead-letter topic.
func TestDeadLetterKeepsRefusedInput(t *testing.T) {
	k := newRestartableKafka(t)
	dc, err := newDurableCollector(k.brokers(), t.TempDir(), 1<<20, spool.FsyncNever, 1<<19)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dc.handler)
	defer srv.Close()
	bad := `{"site":"shop","kind":"pageview","url":"ftp://shop.example/"}`
	resp, body := post(t, http.DefaultClient, srv.URL, bad, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	waitDrained(t, dc.sp)
	dc.stop()
	recs := readTopic(t, k.brokers(), durableDLQ, 1)
	if len(recs) != 1 {
		t.Fatalf("%d dead letters, want 1", len(recs))
	}
	var d bus.DeadLetter
	if err := json.Unmarshal(recs[0].value, &d); err != nil {
		t.Fatal(err)
	}
	if d.Reason != "url" || d.Site != "shop" || d.Payload != bad || time.Since(d.Time) > time.Minute {
		t.Fatalf("dead letter %+v", d)
	}
}

// The kill -9 test runs the collector in a child process: this test binary,
// started again with childEnv set.
const childEnv = "TELLER_TEST_SPOOL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// runChild serves a durable collector on the given port until SIGTERM, then
// shuts down gracefully: stop accepting, flush the spool, exit.
func runChild() int {
	brokers := strings.Split(os.Getenv(childEnv+"_BROKERS"), ",")
	dc, err := newDurableCollector(brokers, os.Getenv(childEnv+"_DIR"), 256<<20, spool.FsyncAlways, 64<<20)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := net.Listen("tcp", os.Getenv(childEnv+"_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("READY", dc.sp.Pending())
	err = service.ServeListener(ctx, l, dc.handler, testenv.Logger(&testing.T{}), nil)
	dc.stop() // after the server stopped accepting
	fmt.Println("LEFT", dc.sp.Pending())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type child struct {
	cmd *exec.Cmd
	out *bufio.Scanner
}

func startChild(t *testing.T, brokers []string, dir, addr string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childEnv+"_BROKERS="+strings.Join(brokers, ","), childEnv+"_DIR="+dir, childEnv+"_ADDR="+addr)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &child{cmd: cmd, out: bufio.NewScanner(stdout)}
	if !c.out.Scan() || !strings.HasPrefix(c.out.Text(), "READY") {
		t.Fatalf("child did not start: %q", c.out.Text())
	}
	t.Logf("collector process %d: %s (bytes left by the previous one)", cmd.Process.Pid, c.out.Text())
	return c
}

// TestCollectorKilledMidLoad kills the collector process with SIGKILL in the
// middle of a load and starts it again on the same spool directory; the
// second one is stopped with SIGTERM (graceful: stop accepting, flush, exit).
// Every accepted event reaches Kafka, each visitor's in order, with no
// duplicate: the spool's ack marker re-sends only what Kafka had not
// acknowledged.
func TestCollectorKilledMidLoad(t *testing.T) {
	k := newRestartableKafka(t)
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	first := startChild(t, k.brokers(), dir, addr)
	var second *child
	acc, failures := load(t, "http://"+addr, 100, 30, func() {
		if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Error(err)
		}
		_ = first.cmd.Wait()
		second = startChild(t, k.brokers(), dir, addr)
	})
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	left := ""
	for second.out.Scan() {
		left = second.out.Text()
	}
	if err := second.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if left != "LEFT 0" {
		t.Fatalf("after a graceful stop the spool holds %q, want LEFT 0", left)
	}
	recs := readTopic(t, k.brokers(), durableTopic, durablePartition)
	dups, unanswered := checkDelivered(t, acc, recs)
	t.Logf("%d accepted, %d failed attempts around the kill; in Kafka %d records: %d duplicates, %d in flight at the kill (spooled, never answered)",
		len(acc), failures, len(recs), dups, unanswered)
	if dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
}

// countingSender is the real producer, counting the deliveries it is given.
type countingSender struct {
	*bus.Producer
	calls, msgs atomic.Int64
}

func (s *countingSender) Publish(ctx context.Context, msgs ...bus.Message) error {
	s.calls.Add(1)
	s.msgs.Add(int64(len(msgs)))
	return s.Producer.Publish(ctx, msgs...)
}

// After a short batch the drainer lets events gather for Linger before the
// next one, so events that arrive one by one reach Kafka in few produce
// requests, and every one of them still arrives, in order.
func TestDrainerLingersAfterAShortBatch(t *testing.T) {
	k := newRestartableKafka(t)
	log := testenv.Logger(t)
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxBytes: 8 << 20, Fsync: spool.FsyncNever, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(k.brokers()), Topic: durableTopic}, log)
	defer producer.Close()
	sender := &countingSender{Producer: producer}
	const linger = time.Second
	pub := collector.NewSpoolPublisher(sp, sender, collector.SpoolOptions{Logger: log, Linger: linger})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pub.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	visitor := identity.NewVisitorID()
	publish := func(i int) {
		t.Helper()
		if err := pub.Publish(context.Background(), bus.Message{Key: visitor[:], Value: []byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	// The first event goes at once; the next 50, published 4 ms apart
	// (each would have been delivered alone), go together after the linger.
	publish(0)
	waitDrained(t, sp)
	start := time.Now()
	for i := 1; i <= 50; i++ {
		publish(i)
		time.Sleep(4 * time.Millisecond)
	}
	if took := time.Since(start); took > linger/2 {
		t.Skipf("publishing 50 events took %v, too long to test a %v linger on this machine", took, linger)
	}
	waitDrained(t, sp)
	if n := sender.msgs.Load(); n != 51 {
		t.Fatalf("%d events delivered, want 51", n)
	}
	// 0 alone, then at most the first of the 50 before the drainer
	// lingered, then the rest: without the linger each would go nearly alone.
	if calls := sender.calls.Load(); calls > 3 {
		t.Errorf("51 events in %d deliveries, want at most 3", calls)
	}
	recs := readTopic(t, k.brokers(), durableTopic, durablePartition)
	var got []string
	for _, r := range recs {
		got = append(got, string(r.value))
	}
	for i := range 51 {
		if i >= len(got) || got[i] != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("Kafka holds %q, want n 0..50 in order", got)
		}
	}
}
