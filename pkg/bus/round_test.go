package bus

import (
	"errors"
	"reflect"
	"testing"

	"github.com/segmentio/kafka-go"
)

// errFor gives each Publish call of a round its own outcome, with indexes
// its own, so Unsent re-sends exactly the caller's failed records.
func TestRoundErrFor(t *testing.T) {
	down := errors.New("broker down")
	five := make([]kafka.Message, 5)
	tests := []struct {
		name    string
		err     error
		off, n  int
		want    error
		unsent  []int
		wantNil bool
	}{
		{name: "acknowledged", err: nil, off: 1, n: 2, wantNil: true},
		{name: "round failed as a whole", err: down, off: 1, n: 2, want: down, unsent: []int{0, 1}},
		{name: "others failed, mine written", err: kafka.WriteErrors{down, nil, nil, down, down}, off: 1, n: 2, wantNil: true},
		{name: "one of mine failed", err: kafka.WriteErrors{nil, nil, nil, down, nil}, off: 2, n: 3, want: kafka.WriteErrors{nil, down, nil}, unsent: []int{1}},
		{name: "wrapped write errors", err: errors.Join(errors.New("x"), kafka.WriteErrors{down, nil, nil, nil, nil}), off: 0, n: 1, want: kafka.WriteErrors{down}, unsent: []int{0}},
		{name: "write errors of another length", err: kafka.WriteErrors{down}, off: 0, n: 2, unsent: []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &round{msgs: five, err: tt.err}
			got := r.errFor(tt.off, tt.n)
			if tt.wantNil {
				if got != nil {
					t.Fatalf("errFor = %v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("errFor = nil, want an error")
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errFor = %#v, want %#v", got, tt.want)
			}
			if u := Unsent(got, tt.n); !reflect.DeepEqual(u, tt.unsent) {
				t.Fatalf("Unsent = %v, want %v", u, tt.unsent)
			}
		})
	}
}
