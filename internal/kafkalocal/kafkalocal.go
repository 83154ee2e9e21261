// Package kafkalocal runs a Kafka broker for benchmarks and local tools:
// franz-go's kfake (in memory, one broker, the Kafka protocol over TCP) on a
// chosen address with its topics created. The product talks to it with
// kafka-go as it would to any broker; it is for measuring and testing only,
// so it lives in internal/. cmd/kafkalocal runs it as a process of its own,
// which is how the whole-pipeline benchmark (internal/pipebench) uses it.
package kafkalocal

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Start runs a broker listening on addr (host:port; port 0 picks a free
// one) with every topic created with partitions partitions. It returns the
// bound address and a close that stops the broker; the broker also stops
// when ctx ends.
func Start(ctx context.Context, addr string, partitions int32, topics ...string) (string, func(), error) {
	if partitions <= 0 {
		return "", nil, fmt.Errorf("kafkalocal: %d partitions: want at least one", partitions)
	}
	if len(topics) == 0 {
		return "", nil, errors.New("kafkalocal: no topic to create")
	}
	// kfake binds 127.0.0.1:<port> itself; the listener function decides
	// the address, so the broker listens exactly where it was asked to.
	listen := func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(listen), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		return "", nil, fmt.Errorf("kafkalocal: start broker on %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, c.Close)
	closeFn := func() { stop(); c.Close() }
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		closeFn()
		return "", nil, fmt.Errorf("kafkalocal: broker listens on %v, want one address", addrs)
	}
	return addrs[0], closeFn, nil
}
