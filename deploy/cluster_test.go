package deploy

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// The cluster stack, docker-compose.cluster.yml, with its ClickHouse and
// Keeper configuration (deploy/clickhouse/cluster/), checked the same way:
// one `compose config` call, then the rules below, each with breakages that
// prove it can fail, plus the generic rules of rules_test.go that read only
// the compose file and its Teller services.
const (
	clusterComposeName = "docker-compose.cluster.yml"
	clusterXMLName     = "deploy/clickhouse/cluster/teller-cluster.xml"
	keeperXMLName      = "deploy/clickhouse/cluster/keeper.xml"
	profileXMLName     = "deploy/clickhouse/cluster/teller-cluster-profile.xml"
)

// clusterDeployment is the cluster stack as the rules read it.
type clusterDeployment struct {
	*deployment
	// teller are the Teller services by compose name (sessionizer-1, ...),
	// each parsed as the program its command names.
	teller  map[string]*tellerService
	cluster clusterXML
	keeper  keeperXML
	profile profileXML
	xmlErr  []string
}

type clusterXML struct {
	Macros struct {
		Shard   envElement `xml:"shard"`
		Replica envElement `xml:"replica"`
	} `xml:"macros"`
	RemoteServers struct {
		Clusters []struct {
			XMLName xml.Name
			Shards  []struct {
				InternalReplication bool `xml:"internal_replication"`
				Replicas            []struct {
					Host string `xml:"host"`
					Port string `xml:"port"`
				} `xml:"replica"`
			} `xml:"shard"`
		} `xml:",any"`
	} `xml:"remote_servers"`
	ZooKeeper []struct {
		Host string `xml:"host"`
		Port string `xml:"port"`
	} `xml:"zookeeper>node"`
	DistributedDDL string `xml:"distributed_ddl>path"`
}

type envElement struct {
	FromEnv string `xml:"from_env,attr"`
}

type keeperXML struct {
	Port     string     `xml:"keeper_server>tcp_port"`
	ServerID envElement `xml:"keeper_server>server_id"`
	Servers  []struct {
		ID       string `xml:"id"`
		Hostname string `xml:"hostname"`
	} `xml:"keeper_server>raft_configuration>server"`
}

type profileXML struct {
	Profiles struct {
		Items []struct {
			XMLName xml.Name
			Mode    string `xml:"distributed_product_mode"`
		} `xml:",any"`
	} `xml:"profiles"`
}

// loadCluster reads the cluster stack; files maps a repository path to a
// replacement (a broken copy).
func loadCluster(t testing.TB, files map[string]string) *clusterDeployment {
	t.Helper()
	root := repoRoot(t)
	path := func(name string) string {
		if p, ok := files[name]; ok {
			return p
		}
		return filepath.Join(root, name)
	}
	d := &clusterDeployment{deployment: &deployment{root: root, services: map[string]*tellerService{}}, teller: map[string]*tellerService{}}
	raw, err := os.ReadFile(path(clusterComposeName))
	if err != nil {
		t.Fatal(err)
	}
	d.rawText = string(raw)
	if out, err := composeConfig(t, path(clusterComposeName), raw); err != nil {
		d.composeErr = err
	} else {
		d.compose, d.raw = &composeFile{}, &composeFile{}
		if err := yaml.Unmarshal(out, d.compose); err != nil {
			d.composeErr = err
		} else if err := yaml.Unmarshal(raw, d.raw); err != nil {
			d.composeErr = err
		}
	}
	if d.compose != nil {
		for _, name := range sortedKeys(d.compose.Services) {
			spec := d.compose.Services[name]
			if spec.Build == nil || len(spec.Command) == 0 {
				continue
			}
			for _, ts := range tellerServices {
				if ts.name != spec.Command[0] {
					continue
				}
				// Parsed as rules_test.go parses the services of
				// docker-compose.yml, under the compose name.
				one := &deployment{root: root, services: map[string]*tellerService{}}
				one.compose = &composeFile{Services: map[string]composeService{ts.name: spec}}
				one.raw = &composeFile{Services: map[string]composeService{ts.name: d.raw.Services[name]}}
				one.loadServices()
				s := one.services[ts.name]
				s.name = name
				d.teller[name] = s
				d.services[name] = s
			}
		}
	}
	for name, dst := range map[string]any{path(clusterXMLName): &d.cluster, path(keeperXMLName): &d.keeper, path(profileXMLName): &d.profile} {
		b, err := os.ReadFile(name)
		if err == nil {
			err = xml.Unmarshal(b, dst)
		}
		if err != nil {
			d.xmlErr = append(d.xmlErr, fmt.Sprintf("%s: %v", filepath.Base(name), err))
		}
	}
	return d
}

// servicesWith are the compose services whose name starts with prefix.
func (d *clusterDeployment) servicesWith(prefix string) []string {
	var out []string
	for _, name := range sortedKeys(d.compose.Services) {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return out
}

type clusterRule struct {
	name   string
	check  func(d *clusterDeployment) []string
	breaks []breakage // file: one of the cluster files' repository paths
}

var clusterRules = []clusterRule{
	{
		name: "compose and the XML files read",
		check: func(d *clusterDeployment) []string {
			p := append([]string(nil), d.xmlErr...)
			if d.composeErr != nil {
				p = append(p, d.composeErr.Error())
			}
			return p
		},
		breaks: []breakage{
			{clusterComposeName, "services:\n", "services:\n  - oops\n", "config rejects"},
			{clusterXMLName, "</remote_servers>", "</remote_server>", "teller-cluster.xml"},
		},
	},
	{
		name: "ClickHouse: 2 shards x 2 replicas, each with its macros, configuration and volume",
		check: func(d *clusterDeployment) []string {
			var p []string
			shards := map[string]int{}
			replicas := map[string]bool{}
			volumes := map[string]bool{}
			servers := d.servicesWith("clickhouse-")
			for _, name := range servers {
				s := d.compose.Services[name]
				shard, replica := string(s.Environment[d.cluster.Macros.Shard.FromEnv]), string(s.Environment[d.cluster.Macros.Replica.FromEnv])
				if shard == "" || replica == "" {
					p = append(p, fmt.Sprintf("service %s: macros %s and %s must be set", name, d.cluster.Macros.Shard.FromEnv, d.cluster.Macros.Replica.FromEnv))
				}
				shards[shard]++
				if replicas[replica] {
					p = append(p, fmt.Sprintf("service %s: replica name %q is not unique in the cluster", name, replica))
				}
				replicas[replica] = true
				mounts := map[string]bool{}
				for _, v := range s.Volumes {
					mounts[v.Target] = true
					if v.named() {
						if volumes[v.Source] {
							p = append(p, fmt.Sprintf("service %s shares volume %s", name, v.Source))
						}
						volumes[v.Source] = true
					}
				}
				for _, want := range []string{"/etc/clickhouse-server/config.d/teller-cluster.xml", "/etc/clickhouse-server/users.d/teller-cluster-profile.xml", "/var/lib/clickhouse"} {
					if !mounts[want] {
						p = append(p, fmt.Sprintf("service %s does not mount %s", name, want))
					}
				}
			}
			if len(servers) != 4 || len(shards) != 2 || shards["1"] != 2 || shards["2"] != 2 {
				p = append(p, fmt.Sprintf("ClickHouse servers %v in shards %v; want 2 shards of 2 replicas", servers, shards))
			}
			return p
		},
		breaks: []breakage{
			{clusterComposeName, "CLICKHOUSE_REPLICA: clickhouse-s2r2", "CLICKHOUSE_REPLICA: clickhouse-s2r1", "is not unique in the cluster"},
			{clusterComposeName, "      CLICKHOUSE_SHARD: \"2\"\n      CLICKHOUSE_REPLICA: clickhouse-s2r2", "      CLICKHOUSE_SHARD: \"1\"\n      CLICKHOUSE_REPLICA: clickhouse-s2r2", "want 2 shards of 2 replicas"},
			{clusterComposeName, "      - clickhouse-s1r2-data:/var/lib/clickhouse\n", "      - clickhouse-s1r1-data:/var/lib/clickhouse\n", "shares volume clickhouse-s1r1-data"},
		},
	},
	{
		name: "remote_servers lists every ClickHouse service once, in its shard, with internal replication",
		check: func(d *clusterDeployment) []string {
			var p []string
			if len(d.cluster.RemoteServers.Clusters) != 1 {
				return []string{fmt.Sprintf("remote_servers has %d clusters, want one", len(d.cluster.RemoteServers.Clusters))}
			}
			c := d.cluster.RemoteServers.Clusters[0]
			listed := map[string]string{}
			for i, sh := range c.Shards {
				if !sh.InternalReplication {
					p = append(p, fmt.Sprintf("shard %d: internal_replication must be true (replication copies a Distributed insert)", i+1))
				}
				for _, r := range sh.Replicas {
					if _, dup := listed[r.Host]; dup {
						p = append(p, "remote_servers lists "+r.Host+" twice")
					}
					listed[r.Host] = fmt.Sprint(i + 1)
					if r.Port != "9000" {
						p = append(p, fmt.Sprintf("remote_servers: %s port %s, want the native port 9000", r.Host, r.Port))
					}
				}
			}
			for _, name := range d.servicesWith("clickhouse-") {
				shard := string(d.compose.Services[name].Environment[d.cluster.Macros.Shard.FromEnv])
				if got, ok := listed[name]; !ok {
					p = append(p, "remote_servers does not list "+name)
				} else if got != shard {
					p = append(p, fmt.Sprintf("remote_servers has %s in shard %s, its macro says %s", name, got, shard))
				}
				delete(listed, name)
			}
			for _, host := range sortedKeys(listed) {
				p = append(p, "remote_servers lists "+host+", which is not a service of the stack")
			}
			return p
		},
		breaks: []breakage{
			{clusterXMLName, "<replica><host>clickhouse-s2r2</host><port>9000</port></replica>", "", "remote_servers does not list clickhouse-s2r2"},
			{clusterXMLName, "<replica><host>clickhouse-s1r2</host>", "<replica><host>clickhouse-s9r9</host>", "clickhouse-s9r9, which is not a service"},
			{clusterXMLName, "<internal_replication>true</internal_replication>\n                <replica><host>clickhouse-s2r1", "<internal_replication>false</internal_replication>\n                <replica><host>clickhouse-s2r1", "shard 2: internal_replication must be true"},
		},
	},
	{
		name: "every Teller service names the cluster and the profile has what the reports need",
		check: func(d *clusterDeployment) []string {
			var p []string
			want := ""
			if len(d.cluster.RemoteServers.Clusters) == 1 {
				want = d.cluster.RemoteServers.Clusters[0].XMLName.Local
			}
			if len(d.teller) == 0 {
				p = append(p, "no Teller services")
			}
			for _, name := range sortedKeys(d.teller) {
				if got, _ := d.teller[name].value("clickhouse-cluster"); got != want {
					p = append(p, fmt.Sprintf("service %s: -clickhouse-cluster %q, want %q (remote_servers)", name, got, want))
				}
			}
			modes := map[string]string{}
			for _, pr := range d.profile.Profiles.Items {
				modes[pr.XMLName.Local] = pr.Mode
			}
			for _, pr := range []string{"default", "teller_readonly"} {
				if modes[pr] != "local" {
					p = append(p, fmt.Sprintf("profile %s: distributed_product_mode %q, want local (store.CheckCluster)", pr, modes[pr]))
				}
			}
			return p
		},
		breaks: []breakage{
			{clusterComposeName, "  TELLER_CLICKHOUSE_CLUSTER: teller\n", "", "-clickhouse-cluster \"\", want \"teller\""},
			{profileXMLName, "        <teller_readonly>\n            <distributed_product_mode>local", "        <teller_readonly>\n            <distributed_product_mode>global", "profile teller_readonly: distributed_product_mode \"global\""},
		},
	},
	{
		name: "ClickHouse Keeper: three nodes with distinct ids, and the servers use all three",
		check: func(d *clusterDeployment) []string {
			var p []string
			keepers := d.servicesWith("keeper-")
			ids := map[string]string{}
			for _, name := range keepers {
				s := d.compose.Services[name]
				if !strings.HasPrefix(s.Image, "clickhouse/clickhouse-keeper:") {
					p = append(p, fmt.Sprintf("service %s runs %s, want clickhouse/clickhouse-keeper", name, s.Image))
				}
				id := string(s.Environment[d.keeper.ServerID.FromEnv])
				if other, dup := ids[id]; dup || id == "" {
					p = append(p, fmt.Sprintf("service %s: keeper id %q (also %s)", name, id, other))
				}
				ids[id] = name
			}
			raft := map[string]string{}
			for _, sv := range d.keeper.Servers {
				raft[sv.ID] = sv.Hostname
			}
			for id, name := range ids {
				if raft[id] != name {
					p = append(p, fmt.Sprintf("keeper.xml: raft server %s is %q, want %s", id, raft[id], name))
				}
			}
			if len(keepers) != 3 || len(raft) != 3 {
				p = append(p, fmt.Sprintf("keeper services %v, raft servers %v; want 3 (a quorum survives one)", keepers, raft))
			}
			used := map[string]bool{}
			for _, n := range d.cluster.ZooKeeper {
				used[n.Host] = true
				if n.Port != d.keeper.Port {
					p = append(p, fmt.Sprintf("teller-cluster.xml: keeper %s on port %s, keeper.xml listens on %s", n.Host, n.Port, d.keeper.Port))
				}
			}
			for _, name := range keepers {
				if !used[name] {
					p = append(p, "teller-cluster.xml does not use keeper "+name)
				}
			}
			if d.cluster.DistributedDDL == "" {
				p = append(p, "teller-cluster.xml: no distributed_ddl path (ON CLUSTER needs it)")
			}
			return p
		},
		breaks: []breakage{
			{clusterComposeName, "KEEPER_SERVER_ID: 3", "KEEPER_SERVER_ID: 2", "keeper id \"2\""},
			{clusterXMLName, "        <node><host>keeper-3</host><port>9181</port></node>\n", "", "does not use keeper keeper-3"},
			{keeperXMLName, "<hostname>keeper-2</hostname>", "<hostname>keeper-9</hostname>", "raft server 2 is \"keeper-9\""},
		},
	},
	{
		name: "Kafka: three KRaft brokers, every topic replicated on all, Teller reaching all",
		check: func(d *clusterDeployment) []string {
			var p []string
			brokers := d.servicesWith("kafka-")
			ids := map[string]string{}
			for _, name := range brokers {
				env := d.compose.Services[name].Environment
				if string(env["KAFKA_PROCESS_ROLES"]) != "broker,controller" {
					p = append(p, fmt.Sprintf("service %s: KAFKA_PROCESS_ROLES %q, want broker,controller (KRaft)", name, env["KAFKA_PROCESS_ROLES"]))
				}
				ids[string(env["KAFKA_NODE_ID"])] = name
				voters := map[string]bool{}
				for _, v := range strings.Split(string(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]), ",") {
					voters[v] = true
				}
				for _, other := range brokers {
					id := string(d.compose.Services[other].Environment["KAFKA_NODE_ID"])
					if !voters[id+"@"+other+":9093"] {
						p = append(p, fmt.Sprintf("service %s: controller quorum %q lacks %s@%s:9093", name, env["KAFKA_CONTROLLER_QUORUM_VOTERS"], id, other))
					}
				}
				for v, want := range map[string]string{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3", "KAFKA_DEFAULT_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"} {
					if string(env[v]) != want {
						p = append(p, fmt.Sprintf("service %s: %s %q, want %s", name, v, env[v], want))
					}
				}
			}
			if len(brokers) != 3 || len(ids) != 3 {
				p = append(p, fmt.Sprintf("Kafka brokers %v with node ids %v; want 3 distinct", brokers, sortedKeys(ids)))
			}
			for _, name := range sortedKeys(d.teller) {
				s := d.teller[name]
				if v, ok := s.value("kafka-brokers"); ok {
					var hosts []string
					for _, a := range s.addresses("kafka-brokers") {
						hosts = append(hosts, a.host)
					}
					sort.Strings(hosts)
					if strings.Join(hosts, ",") != strings.Join(brokers, ",") {
						p = append(p, fmt.Sprintf("service %s: -kafka-brokers %s, want every broker %v", name, v, brokers))
					}
				}
				if v, ok := s.value("kafka-replication-factor"); ok && v != "3" {
					p = append(p, fmt.Sprintf("service %s: -kafka-replication-factor %s, want 3", name, v))
				}
			}
			return p
		},
		breaks: []breakage{
			{clusterComposeName, "KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093", "KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka-1:9093,2@kafka-2:9093", "lacks 3@kafka-3:9093"},
			{clusterComposeName, "TELLER_KAFKA_BROKERS: kafka-1:9092,kafka-2:9092,kafka-3:9092", "TELLER_KAFKA_BROKERS: kafka-1:9092", "want every broker"},
			{clusterComposeName, "  KAFKA_MIN_INSYNC_REPLICAS: 2\n", "", "KAFKA_MIN_INSYNC_REPLICAS \"\", want 2"},
			{clusterComposeName, "      TELLER_KAFKA_REPLICATION_FACTOR: \"3\"\n", "", "-kafka-replication-factor 1, want 3"},
		},
	},
	{
		name: "several sessionizers in one group, each writing through another server",
		check: func(d *clusterDeployment) []string {
			var p []string
			groups, addrs := map[string]bool{}, map[string]string{}
			n := 0
			for _, name := range sortedKeys(d.teller) {
				s := d.teller[name]
				if s.spec.Command[0] != "sessionizer" {
					continue
				}
				n++
				g, _ := s.value("kafka-group")
				groups[g] = true
				a, _ := s.value("clickhouse-addr")
				if other, dup := addrs[a]; dup {
					p = append(p, fmt.Sprintf("services %s and %s both write through %s", other, name, a))
				}
				addrs[a] = name
			}
			if n < 2 {
				p = append(p, fmt.Sprintf("%d sessionizers; the cluster stack runs several", n))
			}
			if len(groups) > 1 {
				p = append(p, fmt.Sprintf("sessionizers in groups %v; one group shares the partitions", sortedKeys(groups)))
			}
			return p
		},
		breaks: []breakage{
			{clusterComposeName, "TELLER_CLICKHOUSE_ADDR: clickhouse-s1r2:9000", "TELLER_CLICKHOUSE_ADDR: clickhouse-s1r1:9000", "both write through clickhouse-s1r1:9000"},
			{clusterComposeName, "TELLER_CLICKHOUSE_ADDR: clickhouse-s2r1:9000\n      TELLER_LISTEN: \":8083\"\n      TELLER_KAFKA_GROUP: teller-sessionizer",
				"TELLER_CLICKHOUSE_ADDR: clickhouse-s2r1:9000\n      TELLER_LISTEN: \":8083\"\n      TELLER_KAFKA_GROUP: other", "one group shares the partitions"},
		},
	},
}

// The generic rules of docker-compose.yml that also hold for the cluster
// stack (they read only compose and its Teller services).
var sharedRules = []string{
	"images are pinned",
	"every service has a health check",
	"Teller variables name flags of their service",
	"each service's environment is a valid configuration",
	"required settings come from the user, never a default",
	"Teller addresses name services of the stack",
	"Teller services wait until what they connect to is healthy",
	"compose waits longer than a service's -shutdown-timeout",
}

func TestClusterDeployment(t *testing.T) {
	d := loadCluster(t, nil)
	for _, r := range clusterRules {
		t.Run(r.name, func(t *testing.T) {
			for _, p := range r.check(d) {
				t.Error(p)
			}
		})
	}
	byName := map[string]rule{}
	for _, r := range rules {
		byName[r.name] = r
	}
	for _, name := range sharedRules {
		r, ok := byName[name]
		if !ok {
			t.Errorf("rule %q is gone from rules_test.go", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			for _, p := range r.run(d.deployment) {
				t.Error(p)
			}
		})
	}
}

func TestClusterRulesCatchBreakages(t *testing.T) {
	root := repoRoot(t)
	for _, r := range clusterRules {
		if len(r.breaks) == 0 {
			t.Errorf("rule %q has no breakage that proves it can fail", r.name)
		}
		for i, b := range r.breaks {
			t.Run(fmt.Sprintf("%s/%d", r.name, i), func(t *testing.T) {
				t.Parallel()
				src, err := os.ReadFile(filepath.Join(root, b.file))
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(src), b.old); n != 1 {
					t.Fatalf("the text to break occurs %d times in %s, want once (update this breakage): %q", n, b.file, b.old)
				}
				broken := filepath.Join(t.TempDir(), filepath.Base(b.file))
				if err := os.WriteFile(broken, []byte(strings.Replace(string(src), b.old, b.new, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				d := loadCluster(t, map[string]string{b.file: broken})
				problems := r.check(d)
				for _, p := range problems {
					if strings.Contains(p, b.want) {
						return
					}
				}
				t.Errorf("replacing %q with %q: rule %q did not say %q; it said %q", b.old, b.new, r.name, b.want, problems)
			})
		}
	}
}
