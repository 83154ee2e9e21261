package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// awaitReplicasPrefix marks a step of a statement's cluster form that runs
// no SQL: wait until every active replica of the ZooKeeper path after the
// prefix ({shard} standing for every shard) has the table's columns. It is
// a comment, so the golden files show where Migrate waits.
const awaitReplicasPrefix = "-- wait for every replica to apply the ALTER: "

// replicaSettleTimeout bounds the wait: 18.16's own ON CLUSTER DDL waits
// 180 s (distributed_ddl_task_timeout) for every host.
const replicaSettleTimeout = 3 * time.Minute

// awaitReplicas polls ZooKeeper through system.zookeeper on the server q
// reaches: a table's "columns" node is its structure after the last ALTER,
// and each replica's own "columns" node is set once that replica has
// applied it. Replicas without is_active (stopped) are passed over: they
// apply the ALTER when they start, before they serve.
func awaitReplicas(ctx context.Context, q Querier, pathTemplate string) error {
	ctx, cancel := context.WithTimeout(ctx, replicaSettleTimeout)
	defer cancel()
	paths := []string{pathTemplate}
	if strings.Contains(pathTemplate, "{shard}") {
		parent, _, _ := strings.Cut(pathTemplate, "{shard}")
		shards, err := zooKeeperChildren(ctx, q, strings.TrimSuffix(parent, "/"))
		if err != nil {
			return fmt.Errorf("store: list shards of %s: %w", pathTemplate, err)
		}
		paths = paths[:0]
		for name := range shards {
			paths = append(paths, strings.Replace(pathTemplate, "{shard}", name, 1))
		}
	}
	for {
		behind, err := replicasBehind(ctx, q, paths)
		if err != nil {
			return err
		}
		if len(behind) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: replicas %s have not applied the ALTER of %s after %s: %w",
				strings.Join(behind, ", "), pathTemplate, replicaSettleTimeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// replicasBehind names the active replicas under paths whose columns differ
// from their table's; a path with no node (a shard directory of another
// table) is not a replica set of this one.
func replicasBehind(ctx context.Context, q Querier, paths []string) ([]string, error) {
	var behind []string
	found := false
	for _, path := range paths {
		table, err := zooKeeperChildren(ctx, q, path)
		if isNoNode(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: read %s: %w", path, err)
		}
		found = true
		replicas, err := zooKeeperChildren(ctx, q, path+"/replicas")
		if err != nil {
			return nil, fmt.Errorf("store: read %s/replicas: %w", path, err)
		}
		for name := range replicas {
			nodes, err := zooKeeperChildren(ctx, q, path+"/replicas/"+name)
			if isNoNode(err) { // dropped meanwhile
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("store: read replica %s of %s: %w", name, path, err)
			}
			if _, active := nodes["is_active"]; active && nodes["columns"] != table["columns"] {
				behind = append(behind, name)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("store: no replicated table at %v in ZooKeeper", paths)
	}
	return behind, nil
}

// zooKeeperChildren reads the children of a ZooKeeper node: name -> value.
func zooKeeperChildren(ctx context.Context, q Querier, path string) (map[string]string, error) {
	rows, err := q.Query(ctx, "SELECT name, value FROM system.zookeeper WHERE path = ?", path)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		out[name] = value
	}
	return out, rows.Err()
}

// isNoNode: system.zookeeper on a path that does not exist.
func isNoNode(err error) bool {
	return err != nil && strings.Contains(err.Error(), "No node")
}
