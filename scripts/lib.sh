# shellcheck shell=bash
# Helpers shared by scripts/test.sh and bench/run.sh: small shell utilities
# and starting a versitygw (the S3 server of the tests and benchmarks).
# The sourcing script defines die() (its own exit status) and may read
# vgw_pid to stop the server at exit.

readonly VERSITYGW_VERSION=v1.8.0
readonly WAIT_SECONDS=60

section() {
	printf '\n==> %s\n' "$*"
}

rand_hex() {
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# tcp_open PORT: something listens on 127.0.0.1:PORT.
tcp_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# http_ok PORT PATH: GET http://127.0.0.1:PORT/PATH answers 200 (no curl needed).
http_ok() (
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
	IFS= read -r -t 5 status <&3 || exit 1
	[[ $status == "HTTP/1."?" 200"* ]]
) 2>/dev/null

# vgw_cache_dir is where versitygw $VERSITYGW_VERSION is built once and
# kept, outside the clone, for every later run and every other clone:
# $MODELKEEP_CACHE_DIR, else $XDG_CACHE_HOME/modelkeep, else ~/.cache/modelkeep.
vgw_cache_dir() {
	local base=${MODELKEEP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/modelkeep}
	echo "$base/versitygw-$VERSITYGW_VERSION"
}

# check_passed NAME ARG...: the check NAME passed before with these
# arguments; mark_check_passed records a pass. An ARG naming a file counts
# by the file's content, any other (a tool's version) as it is. As go test
# caches a passing package's result, the OpenAPI lints (about 25 CPU
# seconds of Node.js) and the go generate drift check run again only when
# what they read changed. MODELKEEP_CHECK_CACHE=off always runs them.
check_key() {
	local arg
	{
		printf '%s\n' "$@"
		for arg; do
			if [[ -f $arg ]]; then cat -- "$arg"; fi
		done
	} | sha256sum | cut -c1-32
}
check_cache_file() {
	local base=${MODELKEEP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/modelkeep}
	echo "$base/checks-passed/$1-$(check_key "$@")"
}
check_passed() {
	[[ ${MODELKEEP_CHECK_CACHE:-on} != off && -f $(check_cache_file "$@") ]]
}
mark_check_passed() {
	local f
	f=$(check_cache_file "$@")
	mkdir -p "$(dirname "$f")" && date -u +%FT%TZ >"$f"
}

# is_pinned_versitygw BIN: BIN is a versitygw built from the pinned version
# (go version -m reads the module version Go records in the binary).
is_pinned_versitygw() {
	[[ -x $1 ]] &&
		go version -m "$1" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$VERSITYGW_VERSION([[:space:]]|$)"
}

# find_versitygw prints the path of a versitygw of the pinned version: the
# cached one, one on the PATH or one `go install` put in GOBIN or
# GOPATH/bin. Other versions are passed over.
find_versitygw() {
	local bin
	for bin in "$(vgw_cache_dir)/versitygw" "$(command -v versitygw)" \
		"$(go env GOBIN)/versitygw" "$(go env GOPATH | cut -d: -f1)/bin/versitygw"; do
		if [[ $bin != /versitygw ]] && is_pinned_versitygw "$bin"; then
			echo "$bin"
			return 0
		fi
	done
	return 1
}

# install_versitygw builds the pinned versitygw into the cache directory
# (a few minutes, once per machine).
install_versitygw() {
	local dir
	dir=$(vgw_cache_dir)
	echo "building versitygw $VERSITYGW_VERSION into $dir (once per machine)"
	mkdir -p "$dir"
	GOBIN=$dir go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
}

# start_versitygw ROOT LOG: builds versitygw when missing, starts it with
# random keys on a free loopback port (7070 when free) over the POSIX
# directory ROOT, logging to LOG, waits until it is healthy, and exports
# MODELKEEP_TEST_S3_{ENDPOINT,ACCESS_KEY,SECRET_KEY,REGION}. It sets
# vgw_pid and vgw_bin.
start_versitygw() {
	local root=$1 log=$2
	if ! vgw_bin=$(find_versitygw); then
		install_versitygw || die "could not build versitygw $VERSITYGW_VERSION"
		vgw_bin=$(find_versitygw) || die "versitygw is not where go install put it ($(vgw_cache_dir))"
	fi
	local access secret region=us-east-1
	access=$(rand_hex 10)
	secret=$(rand_hex 20)
	# Versioning (in a directory of its own) lets buckets have Object
	# Lock, which the evidence archive tests use.
	mkdir -p "$root" "$root.versions"

	local attempt port=7070
	for attempt in 1 2 3 4 5; do
		while tcp_open "$port"; do
			port=$((20000 + RANDOM % 40000))
		done
		ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret VGW_REGION=$region \
			"$vgw_bin" --port "127.0.0.1:$port" --health /_/health posix --versioning-dir "$root.versions" "$root" \
			>"$log" 2>&1 &
		vgw_pid=$!
		local deadline=$((SECONDS + WAIT_SECONDS))
		until http_ok "$port" /_/health; do
			if ! kill -0 "$vgw_pid" 2>/dev/null || ((SECONDS >= deadline)); then
				break
			fi
			sleep 0.2
		done
		if http_ok "$port" /_/health; then
			break
		fi
		echo "versitygw did not come up on 127.0.0.1:$port (attempt $attempt):" >&2
		tail -n 20 "$log" >&2
		kill "$vgw_pid" 2>/dev/null || true
		wait "$vgw_pid" 2>/dev/null || true
		vgw_pid=""
		port=$((20000 + RANDOM % 40000))
	done
	[[ -n $vgw_pid ]] || die "could not start versitygw"

	export MODELKEEP_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
	export MODELKEEP_TEST_S3_ACCESS_KEY=$access
	export MODELKEEP_TEST_S3_SECRET_KEY=$secret
	export MODELKEEP_TEST_S3_REGION=$region
}

# stop_versitygw stops the versitygw this script started (vgw_pid), if it
# still runs: TERM, up to 5 s, then KILL.
stop_versitygw() {
	if [[ -n ${vgw_pid:-} ]] && kill -0 "$vgw_pid" 2>/dev/null; then
		kill "$vgw_pid" 2>/dev/null
		for _ in {1..50}; do
			kill -0 "$vgw_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$vgw_pid" 2>/dev/null
		wait "$vgw_pid" 2>/dev/null
	fi
	return 0
}

# ensure_go puts Go on PATH (the official tarball's place when it is not
# there yet) or dies.
ensure_go() {
	if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
		PATH=/usr/local/go/bin:$PATH
	fi
	command -v go >/dev/null || die "go is not installed (https://go.dev/doc/install)"
}
