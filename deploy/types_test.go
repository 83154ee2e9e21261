package deploy

import (
	"reflect"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestComposeTypesReadBothSyntaxes: the file as written and docker-compose
// v1's output use the short syntax, `docker compose` v2 prints the long one.
// Both must decode to the same service, or a rule would pass on one CLI and
// fail on the other.
func TestComposeTypesReadBothSyntaxes(t *testing.T) {
	want := composeService{
		Image:       "teller:local",
		Build:       &buildSpec{Context: "/repo"},
		Command:     stringList{"collector"},
		Environment: environment{"TELLER_LISTEN": ":8081", "KAFKA_NODE_ID": "1", "EMPTY": ""},
		Ports:       []portSpec{{HostIP: "127.0.0.1", Published: "8081", Target: "8081"}},
		Volumes:     []volumeSpec{{Type: "volume", Source: "data", Target: "/var/lib/x"}, {Type: "bind", Source: "./conf", Target: "/etc/x"}},
		DependsOn:   dependsOn{"kafka": "service_healthy", "clickhouse": "service_started"},
		Healthcheck: &healthcheck{Test: stringList{"CMD", "/usr/local/bin/teller", "healthcheck"}},
	}
	tests := []struct{ name, doc string }{
		{"short (as written, docker-compose v1)", `
image: teller:local
build: /repo
command: collector
environment:
  TELLER_LISTEN: ":8081"
  KAFKA_NODE_ID: 1
  EMPTY:
ports:
  - 127.0.0.1:8081:8081/tcp
volumes:
  - data:/var/lib/x:rw
  - ./conf:/etc/x:ro
depends_on:
  kafka:
    condition: service_healthy
  clickhouse:
    condition: service_started
healthcheck:
  test: CMD /usr/local/bin/teller healthcheck
`},
		{"long (docker compose v2)", `
image: teller:local
build:
  context: /repo
command: ["collector"]
environment: ["TELLER_LISTEN=:8081", "KAFKA_NODE_ID=1", "EMPTY="]
ports:
  - mode: ingress
    host_ip: 127.0.0.1
    target: 8081
    published: "8081"
    protocol: tcp
volumes:
  - type: volume
    source: data
    target: /var/lib/x
    volume: {}
  - type: bind
    source: ./conf
    target: /etc/x
    read_only: true
depends_on:
  kafka:
    condition: service_healthy
    required: true
  clickhouse:
    condition: service_started
    required: true
healthcheck:
  test: ["CMD", "/usr/local/bin/teller", "healthcheck"]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got composeService
			if err := yaml.Unmarshal([]byte(tt.doc), &got); err != nil {
				t.Fatal(err)
			}
			for i := range got.Ports {
				got.Ports[i].text = "" // the message form, not compared
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}
