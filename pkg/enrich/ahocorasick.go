package enrich

import "fmt"

// acAutomaton finds every occurrence of a fixed set of byte strings in a text
// in one pass (Aho-Corasick), whatever the number of strings: bot detection
// then costs one table step per byte of the user agent rather than one
// search per pattern.
//
// The automaton is a full DFA over byte classes: bytes that occur in no
// literal share class 0, the others get one class each, so a step is one
// table read. It is immutable once built and safe for concurrent use.
type acAutomaton struct {
	class   [256]uint16 // byte -> class
	classes int         // number of classes, including class 0
	// next[state*classes+class] is the state after that byte, with
	// acHasOutput set when a literal ends there (so the scan reads out only
	// then); uint16 keeps the table at 2 bytes a cell (2.3 MB for the
	// vendored list).
	next []uint16
	// out[state] lists the literals (indices into the builder's slice) that
	// end at this state, its own and those of its suffixes.
	out [][]int32
	// lens[i] is the length of literal i, so a match's start is known.
	lens []int
}

// acHasOutput flags a transition into a state where literals end; the other
// 15 bits are the state.
const acHasOutput = 1 << 15

// maxACStates is the most states next can address.
const maxACStates = acHasOutput

// newACAutomaton builds the automaton for literals; an empty literal never
// matches. It fails when the literals need more than maxACStates states.
func newACAutomaton(literals []string) (*acAutomaton, error) {
	a := &acAutomaton{lens: make([]int, len(literals))}
	a.classes = 1
	for _, l := range literals {
		for i := 0; i < len(l); i++ {
			if a.class[l[i]] == 0 {
				a.class[l[i]] = uint16(a.classes)
				a.classes++
			}
		}
	}
	// The trie, with -1 for "no child yet".
	trie := [][]int32{a.newRow()}
	a.out = [][]int32{nil}
	for id, l := range literals {
		a.lens[id] = len(l)
		if l == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := a.class[l[i]]
			if trie[s][c] < 0 {
				if len(trie) == maxACStates {
					return nil, fmt.Errorf("%d literals need more than %d automaton states", len(literals), maxACStates)
				}
				trie[s][c] = int32(len(trie))
				trie = append(trie, a.newRow())
				a.out = append(a.out, nil)
			}
			s = trie[s][c]
		}
		a.out[s] = append(a.out[s], int32(id))
	}
	// Breadth first: a state's failure link (its longest proper suffix that
	// is a trie state) is shallower, so it is complete when the state is
	// reached; missing edges become the failure state's edges.
	fail := make([]int32, len(trie))
	queue := make([]int32, 0, len(trie))
	for c := range a.classes {
		if t := trie[0][c]; t > 0 {
			queue = append(queue, t)
		} else {
			trie[0][c] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.out[s] = append(a.out[s], a.out[fail[s]]...)
		for c := range a.classes {
			if t := trie[s][c]; t >= 0 {
				fail[t] = trie[fail[s]][c]
				queue = append(queue, t)
			} else {
				trie[s][c] = trie[fail[s]][c]
			}
		}
	}
	a.next = make([]uint16, 0, len(trie)*a.classes)
	for _, row := range trie {
		for _, t := range row {
			v := uint16(t)
			if len(a.out[t]) > 0 {
				v |= acHasOutput
			}
			a.next = append(a.next, v)
		}
	}
	return a, nil
}

func (a *acAutomaton) newRow() []int32 {
	row := make([]int32, a.classes)
	for i := range row {
		row[i] = -1
	}
	return row
}

// states is the automaton's size, for tests and the package doc's figures.
func (a *acAutomaton) states() int { return len(a.out) }

// scan calls found(literal, start) for every occurrence of a literal in the
// text made of prefix, s and suffix (each a byte or -1 for none), in order of
// the occurrences' ends. start is the offset in that text. Framing s lets
// anchored patterns be literals ("\x02curl" for "^curl") without copying s.
func (a *acAutomaton) scan(prefix int, s string, suffix int, found func(literal int32, start int)) {
	state := uint16(0)
	pos := 0
	step := func(b byte) {
		v := a.next[int(state)*a.classes+int(a.class[b])]
		state = v &^ acHasOutput
		if v&acHasOutput != 0 {
			for _, id := range a.out[state] {
				found(id, pos+1-a.lens[id])
			}
		}
		pos++
	}
	if prefix >= 0 {
		step(byte(prefix))
	}
	for i := 0; i < len(s); i++ {
		// step, inlined for the hot loop: most bytes lead to no output.
		v := a.next[int(state)*a.classes+int(a.class[s[i]])]
		state = v &^ acHasOutput
		if v&acHasOutput != 0 {
			for _, id := range a.out[state] {
				found(id, pos+1-a.lens[id])
			}
		}
		pos++
	}
	if suffix >= 0 {
		step(byte(suffix))
	}
}
