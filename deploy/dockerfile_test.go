package deploy

import (
	"fmt"
	"regexp"
	"strings"
)

// dockerfile is a Dockerfile read into its build stages. It follows the
// Dockerfile reference for what the rules need: comment lines, line
// continuations with a trailing backslash, case-insensitive instructions,
// FROM [--flags] IMAGE [AS NAME]. Heredocs and parser directives other than
// comments are not used here.
type dockerfile struct {
	stages []stage
}

type stage struct {
	from         string // the image or earlier stage it starts from
	name         string // AS NAME, "" if none
	line         int
	instructions []instruction
}

type instruction struct {
	cmd  string // upper case: RUN, COPY, USER, ...
	args string
	line int
}

// parseDockerfile splits src into stages of instructions.
func parseDockerfile(src string) (*dockerfile, error) {
	d := &dockerfile{}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		text := strings.TrimSpace(lines[i])
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			text = strings.TrimSuffix(text, `\`)
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				continue // comments inside a continued instruction are dropped
			}
			text += " " + next
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " "), line: start}
		if in.cmd == "FROM" {
			st, err := parseFrom(in)
			if err != nil {
				return nil, err
			}
			d.stages = append(d.stages, st)
			continue
		}
		if len(d.stages) == 0 {
			if in.cmd == "ARG" {
				continue // ARG before the first FROM
			}
			return nil, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		cur := &d.stages[len(d.stages)-1]
		cur.instructions = append(cur.instructions, in)
	}
	if len(d.stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return d, nil
}

func parseFrom(in instruction) (stage, error) {
	words := strings.Fields(in.args)
	for len(words) > 0 && strings.HasPrefix(words[0], "--") {
		words = words[1:]
	}
	st := stage{line: in.line}
	switch {
	case len(words) == 1:
		st.from = words[0]
	case len(words) == 3 && strings.EqualFold(words[1], "AS"):
		st.from, st.name = words[0], words[2]
	default:
		return st, fmt.Errorf("line %d: malformed FROM %s", in.line, in.args)
	}
	return st, nil
}

// final is the stage the image is made of.
func (d *dockerfile) final() stage { return d.stages[len(d.stages)-1] }

// isStage reports whether ref names a stage defined before stage index i.
func (d *dockerfile) isStage(ref string, i int) bool {
	for _, st := range d.stages[:i] {
		if st.name != "" && strings.EqualFold(st.name, ref) {
			return true
		}
	}
	return false
}

// cmdArg matches the packages a `go build` names: ./cmd/NAME or ./cmd/...
var cmdArg = regexp.MustCompile(`\./cmd/([A-Za-z0-9_.-]+)`)

// built is the set of NAME in ./cmd/NAME that a `go build` builds; all is
// true for ./cmd/...
func (d *dockerfile) built() (names map[string]bool, all bool) {
	names = map[string]bool{}
	for _, st := range d.stages {
		for _, in := range st.instructions {
			if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			for _, m := range cmdArg.FindAllStringSubmatch(in.args, -1) {
				if m[1] == "..." {
					all = true
					continue
				}
				names[m[1]] = true
			}
		}
	}
	return names, all
}

// pinned reports whether an image reference names a version: a digest, or a
// tag other than latest.
func pinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	return ok && tag != "" && tag != "latest"
}
