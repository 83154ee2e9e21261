#!/usr/bin/env bash
# Static checks of docker-compose.yml and the Dockerfile that need no Docker
# engine and no network: only a Compose CLI that can parse files
# (docker-compose v1 from Debian, `apt-get install docker-compose`, or the
# `docker compose` plugin).
#
#   scripts/check-compose.sh          # from any directory
#
# Exits non-zero with one "FAIL:" line per problem. Run by go test ./deploy/.
#
# How it works: `compose config` interpolates and normalizes the file (so the
# checks see what Docker would run), the result is flattened to
# "path<TAB>value" lines (services/kafka/environment/KAFKA_NODE_ID<TAB>1), and
# the checks below grep those. The flattening uses python3 with PyYAML when
# available (the Debian docker-compose package depends on it) and an awk
# reader of the normalized output otherwise; TELLER_CHECK_FLATTENER=awk forces
# the fallback (the Go test runs both).
#
# Environment:
#   COMPOSE                  compose command to use (default: docker-compose,
#                            else `docker compose`)
#   TELLER_CHECK_FLATTENER   python or awk (default: python if usable)
#   TELLER_CHECK_COMPOSE_FILE, TELLER_CHECK_DOCKERFILE
#                            check these files instead (the Go test checks
#                            broken copies to see that the checks fail); cmd/
#                            is always the repository's
#   TELLER_CHECK_DUMP        print the flattened config
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
compose_file=${TELLER_CHECK_COMPOSE_FILE:-$root/docker-compose.yml}
dockerfile=${TELLER_CHECK_DOCKERFILE:-$root/Dockerfile}

# The TELLER_ variables a compose service may set: this list plus every
# variable in README.md's configuration table (rows "| `TELLER_...` |"). One
# that is in neither is a typo or an undocumented setting. (deploy's Go test
# also checks that the service has the flag behind each variable.)
documented_vars="TELLER_KAFKA_BROKERS TELLER_KAFKA_TOPIC TELLER_KAFKA_GROUP
TELLER_CLICKHOUSE_ADDR TELLER_CLICKHOUSE_DATABASE TELLER_CLICKHOUSE_USER
TELLER_CLICKHOUSE_PASSWORD TELLER_LISTEN TELLER_COOKIE_SECRET
TELLER_COOKIE_DOMAIN TELLER_DASHBOARD_USER TELLER_DASHBOARD_PASSWORD
TELLER_SESSION_SECRET TELLER_LOG_LEVEL TELLER_LOG_FORMAT"

# Services the stack must have; the Teller ones are built from the Dockerfile.
backing_services="kafka clickhouse"
teller_services="collector sessionizer dashboard"

failures=0
checks=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
pass() { checks=$((checks + 1)); }
note() { echo "note: $*" >&2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- the compose command ----------------------------------------------------
if [[ -n "${COMPOSE:-}" ]]; then
	read -r -a compose <<<"$COMPOSE"
elif command -v docker-compose >/dev/null 2>&1; then
	compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
	compose=(docker compose)
else
	echo "FAIL: no Compose CLI: install docker-compose (apt-get install docker-compose) or the docker compose plugin" >&2
	exit 2
fi
for f in "$compose_file" "$dockerfile"; do
	if [[ ! -f "$f" ]]; then
		echo "FAIL: $f is missing" >&2
		exit 1
	fi
done

# An empty env file: a developer's .env must not change what is checked.
: >"$tmp/empty.env"
# compose_config [VAR=value ...] -- ARGS: `compose config ARGS` with exactly
# the given variables set on top of the environment.
compose_config() {
	local vars=()
	while [[ $1 != -- ]]; do vars+=("$1"); shift; done
	shift
	env "${vars[@]}" "${compose[@]}" --env-file "$tmp/empty.env" --project-directory "$root" -f "$compose_file" config "$@"
}

# Variables the file marks required with ${VAR:?message}; dummies for them.
mapfile -t required < <(grep -oE '\$\{[A-Za-z_][A-Za-z0-9_]*:\?' "$compose_file" | sed -E 's/^\$\{//; s/:\?$//' | sort -u)
for v in "${required[@]}"; do unset "$v"; done
dummies() { # dummies [EXCEPT]: VAR=value for each required variable but EXCEPT
	local v
	for v in "${required[@]}"; do
		[[ "$v" == "${1:-}" ]] || echo "$v=dummy-$v-0123456789abcdef"
	done
}
mapfile -t all_dummies < <(dummies)

# ---- 1. the file parses and interpolates ------------------------------------
if ! compose_config "${all_dummies[@]}" -- -q 2>"$tmp/err"; then
	echo "FAIL: ${compose[*]} config rejects docker-compose.yml:" >&2
	sed 's/^/    /' "$tmp/err" >&2
	exit 1
fi
pass

# Each required variable really is required: compose refuses to run without
# it. (One compose run per variable, in parallel: each takes a while.)
for v in "${required[@]}"; do
	mapfile -t others < <(dummies "$v")
	if compose_config "${others[@]}" -- -q >/dev/null 2>"$tmp/err.$v"; then
		echo accepted >"$tmp/rc.$v"
	else
		echo rejected >"$tmp/rc.$v"
	fi &
done
wait
for v in "${required[@]}"; do
	if [[ "$(cat "$tmp/rc.$v")" != rejected ]]; then
		fail "compose accepts the file without $v although it is marked \${$v:?...}"
	elif ! grep -q "$v" "$tmp/err.$v"; then
		fail "without $v, compose fails but does not name it: $(tr '\n' ' ' <"$tmp/err.$v")"
	else
		pass
	fi
done
for v in TELLER_COOKIE_SECRET TELLER_DASHBOARD_PASSWORD TELLER_SESSION_SECRET; do
	if [[ " ${required[*]} " != *" $v "* ]]; then
		fail "$v must be required (\${$v:?message}): a default secret would be shared by every install"
	fi
done

compose_config "${all_dummies[@]}" -- >"$tmp/config.yml"

# ---- flatten the normalized config ------------------------------------------
flatten_python() {
	"$1" - "$tmp/config.yml" <<'PY'
import sys, yaml

def scalar(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)

def walk(path, v, out):
    if isinstance(v, dict):
        if not v:
            out.append(("/".join(path), "{}"))
        for k, x in v.items():
            walk(path + [str(k)], x, out)
    elif isinstance(v, list):
        if not v:
            out.append(("/".join(path), "[]"))
        for i, x in enumerate(v):
            walk(path + [str(i)], x, out)
    else:
        out.append(("/".join(path), scalar(v).replace("\n", " ")))

with open(sys.argv[1]) as f:
    doc = yaml.safe_load(f)
out = []
walk([], doc, out)
for p, v in out:
    print(p + "\t" + v)
PY
}

# Reads the block-style YAML that `compose config` prints (PyYAML's or
# Go yaml's dump: two-space indent, sequences indented or not, plain, single-
# or double-quoted scalars, folded long scalars). Not a general YAML parser.
flatten_awk() {
	awk '
	function unquote(s,   t) {
		if (s ~ /^'\''.*'\''$/) { t = substr(s, 2, length(s) - 2); gsub(/'\'\''/, "'\''", t); return t }
		if (s ~ /^".*"$/) { t = substr(s, 2, length(s) - 2); gsub(/\\"/, "\"", t); gsub(/\\\\/, "\\", t); return t }
		return s
	}
	function path(   i, p) {
		p = ""
		for (i = 1; i <= n; i++) p = p (i > 1 ? "/" : "") name[i]
		return p
	}
	function flush() {
		if (pending) print ppath "\t" (pval == "null" || pval == "~" ? "" : unquote(pval))
		pending = 0
	}
	# A key with no value on its line: a container if something deeper (or
	# an indentless sequence at the same indent) follows, else empty.
	function flush_empty(ind, isitem) {
		if (!open_key) return
		if (!(ind > open_ind || (ind == open_ind && isitem))) print open_path "\t"
		open_key = 0
	}
	function pop(ind, isitem) {
		# Leave the stack holding the parent of an entry at indent ind.
		while (n > 0 && (lvl[n] > ind || (lvl[n] == ind && !(isitem && !item[n])))) n--
	}
	function key_line(ind, s,   k, v) {
		k = s; sub(/:( .*)?$/, "", k); k = unquote(k)
		v = s; if (v ~ /: /) { sub(/^[^:]*: /, "", v) } else { v = "" }
		pop(ind, 0)
		n++; lvl[n] = ind; name[n] = k; item[n] = 0
		if (v == "") { open_key = 1; open_ind = ind; open_path = path() }
		else { pending = 1; ppath = path(); pval = v; pind = ind }
	}
	/^[ \t]*(#.*)?$/ { next }
	{
		line = $0
		match(line, /^ */); ind = RLENGTH; s = substr(line, ind + 1)
		isitem = (s ~ /^-( |$)/)
		if (pending && ind > pind && !isitem) { pval = pval " " s; next }
		flush()
		flush_empty(ind, isitem)
		if (isitem) {
			pop(ind, 1)
			parent = path()
			idx = count[parent]++
			n++; lvl[n] = ind; name[n] = idx; item[n] = 1
			match(s, /^- */); rest = substr(s, RLENGTH + 1)
			if (rest ~ /^[^ "'\''][^:]*:( |$)/) { key_line(ind + RLENGTH, rest) }
			else if (rest != "") { pending = 1; ppath = path(); pval = rest; pind = ind }
			next
		}
		key_line(ind, s)
	}
	END { flush(); if (open_key) print open_path "\t" }
	' "$tmp/config.yml"
}

flattener=${TELLER_CHECK_FLATTENER:-}
if [[ -z "$flattener" ]]; then
	flattener="awk"
	for py in python3 /usr/bin/python3; do
		if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml' >/dev/null 2>&1; then
			flattener=python
			python=$py
			break
		fi
	done
elif [[ "$flattener" == python ]]; then
	python=python3
fi
case "$flattener" in
python) flatten_python "$python" >"$tmp/flat" ;;
awk) flatten_awk >"$tmp/flat" ;;
*)
	echo "FAIL: TELLER_CHECK_FLATTENER must be python or awk, not $flattener" >&2
	exit 2
	;;
esac
if [[ ! -s "$tmp/flat" ]]; then
	echo "FAIL: could not read the normalized compose config ($flattener)" >&2
	exit 1
fi
if [[ -n "${TELLER_CHECK_DUMP:-}" ]]; then cat "$tmp/flat"; fi

# get PATH: the value at PATH, or nothing (status 1) if absent.
get() { awk -F '\t' -v p="$1" '$1 == p { sub(/^[^\t]*\t/, ""); print; found = 1; exit } END { exit !found }' "$tmp/flat"; }
# has PATH: PATH or something below it exists.
has() { awk -F '\t' -v p="$1" 'index($1, p) == 1 && (length($1) == length(p) || substr($1, length(p) + 1, 1) == "/") { found = 1; exit } END { exit !found }' "$tmp/flat"; }
# children PATH: the distinct names directly below PATH.
children() { awk -F '\t' -v p="$1/" 'index($1, p) == 1 { r = substr($1, length(p) + 1); sub(/\/.*/, "", r); if (!(r in seen)) { seen[r] = 1; print r } }' "$tmp/flat"; }

# pinned REF: an image reference with a tag other than latest, or a digest.
pinned() {
	local ref=$1 last
	[[ "$ref" == *@sha256:* ]] && return 0
	last=${ref##*/}
	[[ "$last" == *:* ]] || return 1
	[[ "${last##*:}" != latest && -n "${last##*:}" ]]
}

# ---- 2. services -------------------------------------------------------------
mapfile -t services < <(children services)
for s in $backing_services $teller_services; do
	if [[ " ${services[*]} " == *" $s "* ]]; then pass; else fail "service $s is missing"; fi
done

for s in "${services[@]}"; do
	image=$(get "services/$s/image" || true)
	if has "services/$s/build"; then
		if [[ -z "$image" ]]; then
			fail "service $s builds an image but does not name it (image: teller:local)"
		elif [[ "${image##*/}" != *:* || "${image##*:}" == latest ]]; then
			fail "service $s: built image $image needs an explicit tag other than latest"
		else pass; fi
	elif [[ -z "$image" ]]; then
		fail "service $s has neither image nor build"
	elif ! pinned "$image"; then
		fail "service $s: image $image is not pinned (give a version tag, not latest or none)"
	else pass; fi
	if [[ "$image" == *zookeeper* || "$s" == *zookeeper* ]]; then
		fail "service $s: ZooKeeper is not used; Kafka runs in KRaft mode"
	fi

	# Health checks: every service, not disabled.
	hc=$(get "services/$s/healthcheck/test/0" || get "services/$s/healthcheck/test" || true)
	if [[ -z "$hc" || "$hc" == NONE ]] || [[ "$(get "services/$s/healthcheck/disable" || true)" == true ]]; then
		fail "service $s has no healthcheck"
	else pass; fi
done

# ---- 3. Kafka in KRaft mode ---------------------------------------------------
roles=$(get services/kafka/environment/KAFKA_PROCESS_ROLES || true)
if [[ ",$roles," == *",controller,"* && ",$roles," == *",broker,"* ]]; then pass; else
	fail "kafka: KAFKA_PROCESS_ROLES must be broker,controller (KRaft combined mode), is '${roles}'"
fi
if has services/kafka/environment/KAFKA_ZOOKEEPER_CONNECT; then fail "kafka: KAFKA_ZOOKEEPER_CONNECT set; KRaft needs no ZooKeeper"; fi
for v in KAFKA_NODE_ID KAFKA_CONTROLLER_QUORUM_VOTERS KAFKA_CONTROLLER_LISTENER_NAMES KAFKA_ADVERTISED_LISTENERS KAFKA_LOG_DIRS; do
	if has "services/kafka/environment/$v"; then pass; else fail "kafka: $v is not set"; fi
done
# on_named_volume SERVICE DIR: DIR is mounted from a named volume, in the short
# syntax (v1 prints "name:/dir:rw") or the long one (`docker compose` v2).
on_named_volume() {
	local i short
	while read -r i; do
		[[ -z "$i" ]] && continue
		short=$(get "services/$1/volumes/$i" || true)
		if [[ "$short" =~ ^[^:/.][^:]*:([^:]+)(:.*)?$ && "${BASH_REMATCH[1]}" == "$2" ]]; then return 0; fi
		if [[ "$(get "services/$1/volumes/$i/type" || true)" == volume &&
			"$(get "services/$1/volumes/$i/target" || true)" == "$2" ]]; then return 0; fi
	done < <(children "services/$1/volumes")
	return 1
}
logdirs=$(get services/kafka/environment/KAFKA_LOG_DIRS || true)
if [[ -n "$logdirs" ]]; then
	if on_named_volume kafka "$logdirs"; then pass; else
		fail "kafka: the log dirs $logdirs are not on a named volume (data would be lost with the container)"
	fi
fi
if on_named_volume clickhouse /var/lib/clickhouse; then pass; else
	fail "clickhouse: /var/lib/clickhouse is not on a named volume"
fi
for vol in kafka-data clickhouse-data; do
	if has "volumes/$vol"; then pass; else fail "named volume $vol is not declared"; fi
done

# ClickHouse is for local queries only: never published on all interfaces.
# (Short syntax "127.0.0.1:8123:8123/tcp" or long syntax with host_ip.)
while read -r i; do
	[[ -z "$i" ]] && continue
	short=$(get "services/clickhouse/ports/$i" || true)
	host=$(get "services/clickhouse/ports/$i/host_ip" || true)
	if [[ "$short" == 127.0.0.1:* || "$host" == 127.0.0.1 ]]; then pass; else
		fail "clickhouse: port ${short:-$(get "services/clickhouse/ports/$i/published" || true)} is not published on 127.0.0.1 only"
	fi
done < <(children services/clickhouse/ports)

# ---- 4. Teller services -------------------------------------------------------
documented=$(tr -s '[:space:]' ' ' <<<"$documented_vars")
# shellcheck disable=SC2016 # the backquotes are literal
if [[ -f "$root/README.md" ]]; then
	documented+=" $(grep -oE '^\| *`TELLER_[A-Z0-9_]+`' "$root/README.md" | grep -oE 'TELLER_[A-Z0-9_]+' | tr '\n' ' ')"
fi
# What the Dockerfile builds: ./cmd/NAME arguments.
mapfile -t built < <(grep -oE '\./cmd/[A-Za-z0-9_.-]+' "$dockerfile" | sed 's|^\./cmd/||' | sort -u)

for s in $teller_services; do
	[[ " ${services[*]} " == *" $s "* ]] || continue
	if ! has "services/$s/build"; then fail "service $s is not built from the repository Dockerfile (build: .)"; fi

	for dep in $backing_services; do
		cond=$(get "services/$s/depends_on/$dep/condition" || true)
		needed=1
		# Only services configured for Kafka need to wait for it.
		if [[ $dep == kafka ]] && ! has "services/$s/environment/TELLER_KAFKA_BROKERS"; then needed=0; fi
		if [[ $needed == 1 && "$cond" != service_healthy ]]; then
			fail "service $s must depend on $dep with condition: service_healthy${cond:+ (has $cond)}"
		elif [[ $needed == 1 ]]; then pass; fi
	done

	# Environment: documented TELLER_ variables only.
	while read -r var; do
		[[ -z "$var" ]] && continue
		if [[ " $documented " == *" $var "* ]]; then pass; else
			fail "service $s sets $var, which is not a documented Teller variable (README configuration table)"
		fi
	done < <(children "services/$s/environment")

	# The program it runs and the health check's program are built.
	prog=$(get "services/$s/command/0" || get "services/$s/command" || true)
	prog=${prog%% *}
	prog=${prog##*/}
	if [[ -z "$prog" ]]; then
		fail "service $s has no command (the image has no default command)"
	elif [[ " ${built[*]} " != *" $prog "* ]]; then
		fail "service $s runs $prog, which the Dockerfile does not build (./cmd/$prog)"
	else pass; fi
	hcprog=$(get "services/$s/healthcheck/test/1" || true)
	if [[ "$(get "services/$s/healthcheck/test/0" || true)" == CMD && "$hcprog" == /usr/local/bin/* ]]; then
		if [[ " ${built[*]} " == *" ${hcprog##*/} "* ]]; then pass; else
			fail "service $s: healthcheck runs $hcprog, which the Dockerfile does not build"
		fi
	fi

	# One port everywhere: TELLER_LISTEN, the health check URL, the published target.
	listen=$(get "services/$s/environment/TELLER_LISTEN" || true)
	if [[ ! "$listen" =~ :([0-9]+)$ ]]; then
		fail "service $s: TELLER_LISTEN must be set to :PORT (is '$listen')"
		continue
	fi
	port=${BASH_REMATCH[1]}
	hcline=$(grep -E "^services/$s/healthcheck/test(/[0-9]+)?	" "$tmp/flat" | cut -f2- | tr '\n' ' ')
	if [[ "$hcline" == *":$port/"* ]]; then pass; else
		fail "service $s: healthcheck does not probe the listen port $port: $hcline"
	fi
	while read -r i; do
		[[ -z "$i" ]] && continue
		t=$(get "services/$s/ports/$i/target" || true)
		if [[ -z "$t" ]]; then # short syntax [[IP:]HOST:]CONTAINER[/PROTO]
			t=$(get "services/$s/ports/$i" || true)
			t=${t%/*}
			t=${t##*:}
		fi
		if [[ "$t" == "$port" ]]; then pass; else fail "service $s publishes container port $t but listens on $port"; fi
	done < <(children "services/$s/ports")
done

# ---- 5. Dockerfile --------------------------------------------------------------
# Every command (cmd/NAME/main.go) is built, whatever commands exist today.
for dir in "$root"/cmd/*/; do
	[[ -f "$dir/main.go" ]] || continue
	name=$(basename "$dir")
	if [[ " ${built[*]} " == *" $name "* ]]; then pass; else
		fail "Dockerfile does not build ./cmd/$name (cmd/$name/main.go exists)"
	fi
done
for name in "${built[@]}"; do
	if [[ ! -d "$root/cmd/$name" ]]; then
		fail "Dockerfile builds ./cmd/$name, which does not exist"
	elif ! compgen -G "$root/cmd/$name/*.go" >/dev/null; then
		note "Dockerfile builds ./cmd/$name, which has no Go files yet (docker build fails until it does)"
	fi
done

# FROM lines: pinned images (earlier stages by name are fine).
stages=" "
while read -r line; do
	read -r -a words <<<"$line"
	set -- "${words[@]}"
	shift # FROM
	while [[ "${1:-}" == --* ]]; do shift; done
	ref=${1:-}
	if [[ "${2:-}" =~ ^[Aa][Ss]$ ]]; then stage=${3:-}; else stage=; fi
	if [[ -z "$ref" ]]; then
		fail "Dockerfile: malformed line: $line"
	elif [[ "$stages" == *" $ref "* || "$ref" == scratch ]]; then
		pass
	elif [[ "$ref" == *'$'* ]]; then
		fail "Dockerfile: FROM $ref uses a build argument; pin the image literally"
	elif pinned "$ref"; then
		pass
	else
		fail "Dockerfile: FROM $ref is not pinned (give a version tag, not latest or none)"
	fi
	[[ -n "$stage" ]] && stages+="$stage "
done < <(grep -iE '^[[:space:]]*FROM[[:space:]]' "$dockerfile")
if grep -qiE '^[[:space:]]*ADD[[:space:]].*https?://' "$dockerfile"; then
	fail "Dockerfile: ADD of a URL; download with a checksum in a RUN step instead"
fi
if grep -qE ':latest([[:space:]]|$)' "$dockerfile"; then
	fail "Dockerfile: uses a :latest image"
fi
# The final stage does not run as root.
final_user=$(awk 'toupper($1) == "FROM" { u = "" } toupper($1) == "USER" { u = $2 } END { print u }' "$dockerfile")
final_from=$(grep -iE '^[[:space:]]*FROM[[:space:]]' "$dockerfile" | tail -1)
if [[ -n "$final_user" && ! "$final_user" =~ ^(root|0)(:.*)?$ ]] || [[ -z "$final_user" && "$final_from" == *:nonroot* ]]; then
	pass
else
	fail "Dockerfile: the final stage runs as root (add USER or use a :nonroot base)"
fi
if grep -qiE '^[[:space:]]*RUN[[:space:]].*go mod download' "$dockerfile"; then pass; else
	fail "Dockerfile: no separate 'go mod download' layer (dependencies re-download on every source change)"
fi

# ---- result ---------------------------------------------------------------------
if ((failures > 0)); then
	echo "check-compose: $failures problem(s) in docker-compose.yml / Dockerfile ($flattener reader, ${compose[*]})" >&2
	exit 1
fi
echo "check-compose: ok ($checks checks, $flattener reader, ${compose[*]})"
