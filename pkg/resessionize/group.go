package resessionize

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/pkg/bus"
)

// KafkaGroup asks the brokers for a consumer group's live members.
type KafkaGroup struct {
	Kafka bus.Config
	Group string
}

// Members implements Group.
func (k KafkaGroup) Members(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(k.Kafka.Brokers...), Timeout: 10 * time.Second}
	resp, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{k.Group}})
	if err != nil {
		return nil, fmt.Errorf("describe consumer group %s: %w", k.Group, err)
	}
	var out []string
	for _, g := range resp.Groups {
		if g.Error != nil && !errors.Is(g.Error, kafka.GroupIdNotFound) {
			return nil, fmt.Errorf("describe consumer group %s: %w", k.Group, g.Error)
		}
		for _, m := range g.Members {
			out = append(out, m.ClientID+"@"+m.ClientHost)
		}
	}
	return out, nil
}
