#!/usr/bin/env bash
# The Modelkeep test command, for developers and CI alike:
#
#   bash scripts/test.sh [OPTIONS] [--] [GO_TEST_ARGS...]
#
# It starts the backends the tests need on loopback (MariaDB as the MySQL
# server, Versity S3 Gateway as the S3 server), runs go generate and checks
# that it changed nothing, and then
#   go test -trimpath -ldflags=-w -count=1 -timeout 25m -p 4 -parallel 8 GO_TEST_ARGS...
# with the other static checks (go vet, gofmt, OpenAPI lint, OWASP API
# Security lint) and the fuzzing below running beside it; their output is
# printed after the tests'.
# (-trimpath, for go vet too: what is compiled does not depend on the
# clone's directory, so a fresh clone reuses what an earlier one compiled.
# -ldflags=-w: go test links every test binary again on every run, some
# thirty of them with SQLite and the AWS SDK inside; without the DWARF
# debugging tables, which nothing in a test run reads (stack traces come
# from the symbol table), each link takes a quarter less CPU.
# -p 4 -parallel 8: the tests start servers and a browser and spend most of
# their time waiting on SQLite, MariaDB, S3 and Chromium, so more packages
# and tests at once than there are CPUs keep the CPUs busy; with one
# package per CPU, the server package's four minutes held one of the two
# slots and everything else queued for the other.)
# GO_TEST_ARGS go to `go test` as given; when none of them names a package
# (an argument starting with ./ or ../, or the module path) every package is
# tested, the longest first (./server/ ./webui/browsertest/ ./store/ ./evidence/ ./...).
# All steps run even when one fails; the script exits non-zero if any did.
#
# A full run (no package named) also fuzzes the request body decoder for a
# short while, with one worker beside the tests:
#   go test -fuzz FuzzDecode -fuzztime FUZZTIME -fuzzminimizetime 1s -parallel 1 ./internal/strictjson
# (its seed corpus runs with the other tests every time). Minimizing each new
# input for go test's default 60 s took the whole budget: 10 s with 1 s of
# minimizing runs ~110,000 inputs where 30 s with the default ran 58,000-70,000.
#
# Options:
#   --skip-checks   skip go vet, gofmt, go generate and the OpenAPI lints
#   --no-services   start no MariaDB and no versitygw (MySQL and S3 tests skip)
#   --fuzztime D    how long the fuzz step runs (default 10s; 0 skips it)
#   -h, --help      show this help
#
# Examples:
#   bash scripts/test.sh                                  # everything, as CI runs it
#   bash scripts/test.sh -run TestMySQL ./store/          # one package, one test
#   bash scripts/test.sh --skip-checks -v ./store/blob/   # just the tests, verbose
#   bash scripts/test.sh --skip-checks ./webui/browsertest/  # only the browser tests
#
# Backends (set up only when the matching variable is not already set):
#   MODELKEEP_TEST_MYSQL_DSN   mysql://USER:PASS@127.0.0.1:PORT/ for a user made
#       for this run (mk_test_<random>) that may create and drop databases
#       named mk_*; tests create their own and drop them. The user is dropped
#       at exit, with a warning naming any mk_* database the run left behind.
#       MariaDB is installed (apt) and started if no server answers as root.
#   MODELKEEP_TEST_S3_ENDPOINT, MODELKEEP_TEST_S3_ACCESS_KEY,
#   MODELKEEP_TEST_S3_SECRET_KEY, MODELKEEP_TEST_S3_BUCKET, MODELKEEP_TEST_S3_REGION
#       a versitygw (POSIX backend in a fresh temporary directory, random
#       keys, bucket already created) on a free loopback port, stopped and
#       removed at exit. The pinned versitygw is built once per machine
#       with `go install` into ~/.cache/modelkeep (or $MODELKEEP_CACHE_DIR,
#       or $XDG_CACHE_HOME/modelkeep), unless one of that version is on the
#       PATH or in GOPATH/bin already.
# Set those variables yourself to test against servers of your own.
#
# The OpenAPI lints remember a pass (in the cache directory above, keyed by
# the SHA-256 of openapi.yaml, .spectral.yaml and the pinned versions), and
# the go generate drift check a clean tree (keyed by every file's SHA-256
# and the Go and Node.js versions); each runs again only when what it
# reads changed. MODELKEEP_CHECK_CACHE=off runs them every time.
#
# The web UI's browser tests (./webui/browsertest) run in headless
# Chromium: when they are among the packages tested, Debian's
# chromium-headless-shell is installed if missing (Debian's chromium where
# the shell cannot be installed), axe-core comes from
# webui/node_modules (npm ci when missing), and MODELKEEP_TEST_CHROMIUM
# points the tests at the browser (set it yourself for another Chromium;
# with it set, a missing browser fails the tests instead of skipping
# them). They write screenshots of the pages to test-output/screenshots/.
#
# The Python client's tests (./clients/python) run its unittest suite with
# the machine's python3 against a real server on each backend: when they are
# among the packages tested, Debian's python3 (and pip, for the install
# test) is installed if python3 is missing. MODELKEEP_TEST_PYTHON names
# another interpreter.
#
# The README's examples (./internal/readme) run with bash, curl and jq
# against a server built from the clone on each backend: jq and curl are
# installed if missing.
#
# At the end it prints one line per phase (services, each check, the tests)
# with its result and time, and the total.
#
# Needs: bash, Go; as root it installs what else is missing with apt-get
# (mariadb-server, nodejs and npm, chromium, python3, jq, curl). Runs without a terminal (CI=true).

set -euo pipefail

readonly REDOCLY_CLI_VERSION=2.77.0
readonly SPECTRAL_CLI_VERSION=6.16.3
readonly SPECTRAL_OWASP_VERSION=2.0.1

usage() {
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# --- arguments ---

run_checks=1
start_services=1
test_parallel=8
fuzztime=10s
while (($# > 0)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--skip-checks) run_checks=0 ;;
	--no-services) start_services=0 ;;
	--fuzztime)
		(($# > 1)) || { echo "error: --fuzztime needs a duration" >&2; exit 2; }
		fuzztime=$2
		shift
		;;
	--)
		shift
		break
		;;
	*) break ;;
	esac
	shift
done
go_test_args=("$@")

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# --- helpers ---


die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}


apt_updated=0
apt_install() {
	if ((EUID != 0)); then
		die "need to install $* but not running as root: install it yourself, or run as root"
	fi
	if ((apt_updated == 0)); then
		DEBIAN_FRONTEND=noninteractive apt-get update -q
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# wait_for SECONDS DESCRIPTION COMMAND... retries COMMAND once a second.
wait_for() {
	local seconds=$1 what=$2
	shift 2
	local deadline=$((SECONDS + seconds))
	until "$@"; do
		if ((SECONDS >= deadline)); then
			printf 'error: %s did not come up within %ss\n' "$what" "$seconds" >&2
			return 1
		fi
		sleep 1
	done
}



# --- the summary: one line per phase ---

phases=()

# record_phase NAME RESULT SECONDS adds a line to the summary.
record_phase() {
	phases+=("$(printf '%-44s %-6s %4ss' "$1" "$2" "$3")")
}

# timed NAME COMMAND...: runs COMMAND (which exits the script on failure)
# and records its time.
timed() {
	local name=$1 start=$SECONDS
	shift
	"$@"
	record_phase "$name" ok $((SECONDS - start))
}

print_summary() {
	((${#phases[@]} > 0)) || return 0
	section "summary"
	printf '%s\n' "${phases[@]}"
	printf '%-44s %-6s %4ss\n' "total" "$( ((${#failed[@]} == 0)) && echo ok || echo FAILED)" "$SECONDS"
}

# --- cleanup: everything this run started or created ---

vgw_pid=""
bg_dir=""
bg_names=()
bg_pids=()
vgw_dir=""
db_client=()
db_user=""
db_before=""

cleanup() {
	set +e
	if ((${#bg_pids[@]} > 0)); then
		kill "${bg_pids[@]}" 2>/dev/null
		wait "${bg_pids[@]}" 2>/dev/null
		rm -rf -- "$bg_dir"
	fi
	print_summary
	stop_versitygw
	if [[ -n $vgw_dir ]]; then
		rm -rf -- "$vgw_dir"
	fi
	if [[ -n $tmpfs_dir ]]; then
		rm -rf -- "$tmpfs_dir"
	fi
	if [[ -n $db_user ]]; then
		local left
		root_sql "DROP USER IF EXISTS '$db_user'@'localhost', '$db_user'@'127.0.0.1'"
		left=$(LC_ALL=C comm -13 <(printf '%s\n' "$db_before") <(list_mk_databases) | paste -sd' ')
		if [[ -n $left ]]; then
			printf 'warning: databases named mk_* that appeared during this run are still there: %s\n' "$left" >&2
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- temporary files in memory ---

# use_memory_tmpdir points TMPDIR at a directory of its own in /dev/shm
# when the machine has memory to spare and the caller did not choose a
# TMPDIR: the tests write several GiB of upload data (the resumable upload
# tests send 1 GiB on each backend, versitygw keeps its objects in a
# temporary directory) and SQLite databases that fsync on every commit; on
# a 2-core machine the disk's writeback and fsyncs cost 40 s of a 295 s run
# (254-268 s in memory). The peak was 4.1 GiB; with less than twice
# tmpfs_peak_mib free in /dev/shm, or less than three times that memory
# available, the run stays on disk.
tmpfs_peak_mib=5120
tmpfs_dir=""
use_memory_tmpdir() {
	[[ -z ${TMPDIR:-} && -d /dev/shm && -w /dev/shm ]] || return 0
	local shm_free_mib mem_available_mib
	shm_free_mib=$(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
	mem_available_mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo 2>/dev/null)
	if ((${shm_free_mib:-0} < 2 * tmpfs_peak_mib || ${mem_available_mib:-0} < 3 * tmpfs_peak_mib)); then
		return 0
	fi
	tmpfs_dir=$(mktemp -d /dev/shm/modelkeep-test.XXXXXX) || return 0
	export TMPDIR=$tmpfs_dir
	echo "temporary files in memory: $tmpfs_dir (set TMPDIR to keep them on disk)"
}
use_memory_tmpdir

# --- Go ---

ensure_go
module=$(go list -m)

# --- MariaDB ---

# root_sql SQL runs SQL as the server's root over its socket (SQL on stdin,
# so that passwords stay out of the process list).
root_sql() {
	"${db_client[@]}" -uroot --batch --skip-column-names <<<"$1"
}

mariadb_up() {
	root_sql 'SELECT 1' >/dev/null 2>&1
}

list_mk_databases() {
	root_sql "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'mk\\_%' ORDER BY 1" | LC_ALL=C sort
}

setup_mariadb() {
	section "MariaDB"
	if command -v mariadb >/dev/null; then
		db_client=(mariadb)
	elif command -v mysql >/dev/null; then
		db_client=(mysql)
	fi
	if ((${#db_client[@]} == 0)) || ! mariadb_up; then
		if [[ ! -x /usr/sbin/mariadbd ]] || ((${#db_client[@]} == 0)); then
			echo "installing mariadb-server"
			apt_install mariadb-server
			db_client=(mariadb)
		fi
		((EUID == 0)) || die "MariaDB does not answer as root on its socket; run as root, or set MODELKEEP_TEST_MYSQL_DSN"
		echo "starting mariadbd"
		mkdir -p /run/mysqld
		chown mysql /run/mysqld
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
		wait_for "$WAIT_SECONDS" "MariaDB (answering root on its socket)" mariadb_up
	fi
	local port version
	port=$(root_sql 'SELECT @@port')
	version=$(root_sql 'SELECT VERSION()')

	local suffix pass
	suffix=$(rand_hex 6)
	pass=$(rand_hex 16)
	db_before=$(list_mk_databases)
	db_user="mk_test_$suffix"
	local host
	for host in localhost 127.0.0.1; do
		root_sql "CREATE USER '$db_user'@'$host' IDENTIFIED BY '$pass'"
		# WITH GRANT OPTION and CREATE USER: the audit tests create a
		# least-privilege user with the grants docs/audit.md gives, on their
		# own mk_ databases only.
		root_sql "GRANT ALL PRIVILEGES ON \`mk\\_%\`.* TO '$db_user'@'$host' WITH GRANT OPTION"
		root_sql "GRANT CREATE USER ON *.* TO '$db_user'@'$host'"
	done
	# The user must reach the server over TCP and be able to make databases.
	MYSQL_PWD=$pass "${db_client[@]}" --protocol=tcp -h127.0.0.1 -P"$port" -u"$db_user" --batch \
		-e "CREATE DATABASE \`mk_${suffix}_probe\`; DROP DATABASE \`mk_${suffix}_probe\`" ||
		die "the test user cannot create databases over TCP on 127.0.0.1:$port"

	export MODELKEEP_TEST_MYSQL_DSN="mysql://$db_user:$pass@127.0.0.1:$port/"
	echo "MariaDB $version on 127.0.0.1:$port, user $db_user (databases mk_*)"
}

# --- versitygw ---


setup_versitygw() {
	section "versitygw (S3)"
	local bucket=modelkeep-test
	vgw_dir=$(mktemp -d "${TMPDIR:-/tmp}/modelkeep-test.XXXXXX")
	# With the POSIX backend a bucket is a directory under the root.
	mkdir -p "$vgw_dir/root/$bucket"
	start_versitygw "$vgw_dir/root" "$vgw_dir/versitygw.log"
	export MODELKEEP_TEST_S3_BUCKET=$bucket
	echo "versitygw ($vgw_bin) on $MODELKEEP_TEST_S3_ENDPOINT, bucket $bucket"
}

# --- checks ---

# go_files prints the module's Go files (not testdata, vendor), NUL-separated.
go_files() {
	if in_git; then
		git ls-files -z --cached --others --exclude-standard -- '*.go'
	else
		find . \( -name .git -o -name node_modules \) -prune -o -type f -name '*.go' -print0
	fi | while IFS= read -r -d '' f; do
		case /$f in
		*/testdata/* | */vendor/*) continue ;;
		esac
		if [[ -f $f ]]; then
			printf '%s\0' "$f"
		fi
	done
}

in_git() {
	command -v git >/dev/null && [[ $(git rev-parse --is-inside-work-tree 2>/dev/null) == true ]]
}

check_vet() {
	go vet -trimpath ./...
}

check_gofmt() {
	local unformatted f
	unformatted=$(go_files | xargs -0 -r gofmt -l) || return 1
	if [[ -n $unformatted ]]; then
		echo "not gofmt-formatted (run gofmt -w on them):"
		while IFS= read -r f; do
			printf '  %s\n' "$f"
		done <<<"$unformatted"
		return 1
	fi
	echo "all Go files are formatted"
}

# tree_state prints a checksum of every file git would see (tracked or
# untracked, not ignored), so that changes by go generate show whether the
# tree was clean or not.
tree_state() {
	git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
		if [[ -f $f ]]; then
			printf '%s\0' "$f"
		fi
	done | xargs -0 -r sha256sum --
}

# ensure_node installs Node.js and npm when missing: the web UI's build
# (go generate) and the OpenAPI lint need them.
ensure_node() {
	if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
		echo "installing nodejs and npm"
		apt_install nodejs npm || return 1
	fi
}

check_generate() {
	ensure_node || return 1
	if ! in_git; then
		echo "not a git work tree: running go generate without the drift check"
		go generate ./...
		return
	fi
	local before after changed key
	before=$(tree_state) || return 1
	# The same tree (every file's SHA-256) with the same Go and Node.js
	# generated nothing new before: it would not now.
	key=(generate "$(go version)" "$(node --version)" "$(sha256sum <<<"$before")")
	if check_passed "${key[@]}"; then
		echo "generated code is up to date (checked before on this exact tree; MODELKEEP_CHECK_CACHE=off checks again)"
		return 0
	fi
	go generate ./... || return 1
	after=$(tree_state) || return 1
	mapfile -t changed < <(diff <(echo "$before") <(echo "$after") | sed -n 's/^[<>] [0-9a-f]\{64\}  //p' | sort -u)
	if ((${#changed[@]} > 0)); then
		echo "go generate changed these files; run it and commit the result:"
		printf '  %s\n' "${changed[@]}"
		git --no-pager diff --stat -- "${changed[@]}" || true
		return 1
	fi
	mark_check_passed "${key[@]}"
	echo "generated code is up to date"
}

# node_ok: Node.js is new enough for @redocly/cli 2 (>= 20.19, or >= 22.12).
node_ok() {
	local v major minor
	v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
	IFS=. read -r major minor _ <<<"$v"
	((major > 22 || (major == 22 && minor >= 12) || (major == 20 && minor >= 19)))
}

check_openapi() {
	if [[ ! -f openapi.yaml ]]; then
		echo "openapi.yaml is missing: the API contract must be at the repository root"
		return 1
	fi
	ensure_node || return 1
	if ! node_ok; then
		echo "@redocly/cli $REDOCLY_CLI_VERSION needs Node.js >= 20.19; this machine has $(node --version 2>&1)"
		return 1
	fi
	local key=(redocly "$REDOCLY_CLI_VERSION" "$(node --version)" openapi.yaml)
	if check_passed "${key[@]}"; then
		echo "passed before on this openapi.yaml with @redocly/cli $REDOCLY_CLI_VERSION (cached; MODELKEEP_CHECK_CACHE=off runs it again)"
		return 0
	fi
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true NPM_CONFIG_UPDATE_NOTIFIER=false \
		npx --yes "@redocly/cli@$REDOCLY_CLI_VERSION" lint openapi.yaml </dev/null &&
		mark_check_passed "${key[@]}"
}

# check_owasp runs Spectral with the OWASP API Security ruleset on
# openapi.yaml (.spectral.yaml says which rules are scoped or off, and why;
# docs/owasp.md too): any error fails. Both packages are pinned; the
# ruleset is found in npx's own node_modules (NODE_PATH), never fetched
# from elsewhere; no telemetry (Scarf, which the CLI's install carries, is
# off).
check_owasp() {
	if [[ ! -f .spectral.yaml ]]; then
		echo ".spectral.yaml is missing: the OWASP ruleset's configuration must be at the repository root"
		return 1
	fi
	ensure_node || return 1
	local key=(spectral "$SPECTRAL_CLI_VERSION" "$SPECTRAL_OWASP_VERSION" "$(node --version)" openapi.yaml .spectral.yaml)
	if check_passed "${key[@]}"; then
		echo "passed before on this openapi.yaml and .spectral.yaml with these versions (cached; MODELKEEP_CHECK_CACHE=off runs it again)"
		return 0
	fi
	# shellcheck disable=SC2016 # expanded by npx's shell, where spectral is on PATH
	SCARF_ANALYTICS=false DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false \
		npx --yes -p "@stoplight/spectral-cli@$SPECTRAL_CLI_VERSION" -p "@stoplight/spectral-owasp-ruleset@$SPECTRAL_OWASP_VERSION" \
		-c 'NODE_PATH="$(dirname "$(command -v spectral)")/.." spectral lint openapi.yaml --ruleset .spectral.yaml --fail-severity error' </dev/null &&
		mark_check_passed "${key[@]}"
}

# tests_selected PKG: the packages given to go test include PKG, a path
# in the module (webui/browsertest), so that what its tests need is set up.
tests_selected() {
	local pkgs=() arg
	for arg in ${go_test_args[@]+"${go_test_args[@]}"}; do
		case $arg in
		. | .. | ./* | ../* | "$module" | "$module"/*) pkgs+=("$arg") ;;
		esac
	done
	go list "${pkgs[@]}" 2>/dev/null | grep -qx "$module/$1"
}

# setup_browser gives the browser tests their Chromium (Debian's, installed
# when missing) and axe-core (webui/node_modules, from npm ci when go
# generate did not run it).
setup_browser() {
	if [[ -z ${MODELKEEP_TEST_CHROMIUM:-} ]]; then
		# Debian's headless shell (Chromium's old headless mode, built from
		# the same source) ran the browser tests with half the CPU of the
		# full browser (45 against 96 CPU seconds); the full one is the
		# fallback where the shell is not packaged.
		if [[ ! -x /usr/bin/chromium-headless-shell ]] && ((EUID == 0)); then
			echo "installing chromium-headless-shell"
			apt_install chromium-headless-shell || true
		fi
		if [[ -x /usr/bin/chromium-headless-shell ]]; then
			export MODELKEEP_TEST_CHROMIUM=/usr/bin/chromium-headless-shell
		else
			if [[ ! -x /usr/bin/chromium ]]; then
				echo "installing chromium"
				apt_install chromium || return 1
			fi
			export MODELKEEP_TEST_CHROMIUM=/usr/bin/chromium
		fi
	fi
	"$MODELKEEP_TEST_CHROMIUM" --version 2>/dev/null || {
		echo "$MODELKEEP_TEST_CHROMIUM does not run"
		return 1
	}
	if [[ ! -f webui/node_modules/axe-core/axe.min.js ]]; then
		ensure_node || return 1
		echo "installing the web UI's packages (npm ci) for axe-core"
		(cd webui && npm ci --no-audit --no-fund --loglevel=error) || return 1
	fi
	echo "axe-core $(node -p 'require("./webui/node_modules/axe-core/package.json").version' 2>/dev/null || echo '(version unknown)')"
}

# setup_python gives the Python client's tests their python3 (Debian's,
# with pip, installed when missing; without root they skip, saying so).
setup_python() {
	local py=${MODELKEEP_TEST_PYTHON:-python3}
	if ! command -v "$py" >/dev/null; then
		if [[ -n ${MODELKEEP_TEST_PYTHON:-} ]]; then
			echo "MODELKEEP_TEST_PYTHON=$py is not on the PATH"
			return 1
		fi
		if ((EUID != 0)); then
			echo "python3 is missing and this is not root: the Python client's tests will be skipped"
			return 0
		fi
		echo "installing python3"
		apt_install python3 python3-pip || return 1
	fi
	"$py" --version
}

# setup_readme gives the README's examples the tools they use besides bash
# and Go: curl and jq (Debian's, installed when missing; without root the
# test skips, saying which is missing).
setup_readme() {
	local missing=() tool
	for tool in curl jq; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	if ((${#missing[@]} == 0)); then
		jq --version
		return 0
	fi
	if ((EUID != 0)); then
		echo "${missing[*]} missing and this is not root: the README test will be skipped"
		return 0
	fi
	echo "installing ${missing[*]}"
	apt_install "${missing[@]}"
}

failed=()

# step NAME FUNCTION: runs FUNCTION under a header, recording a failure.
step() {
	local name=$1 start=$SECONDS
	section "$name"
	if "$2"; then
		printf -- '--- %s: ok (%ss)\n' "$name" $((SECONDS - start))
		record_phase "$name" ok $((SECONDS - start))
	else
		printf -- '--- %s: FAILED (%ss)\n' "$name" $((SECONDS - start))
		record_phase "$name" FAILED $((SECONDS - start))
		failed+=("$name")
	fi
}

# Steps that need little CPU beside the tests' own (the lints run in Node,
# go vet reuses what the tests compile) run beside them: in the
# background, their output kept in a file and printed after the tests, each
# under its header.
# step_bg NAME FUNCTION starts FUNCTION in the background.
step_bg() {
	[[ -n $bg_dir ]] || bg_dir=$(mktemp -d "${TMPDIR:-/tmp}/modelkeep-steps.XXXXXX")
	local i=${#bg_names[@]}
	(
		start=$SECONDS
		if "$2" >"$bg_dir/$i.log" 2>&1 </dev/null; then rc=0; else rc=1; fi
		echo "$rc $((SECONDS - start))" >"$bg_dir/$i.result"
	) &
	bg_pids+=($!)
	bg_names+=("$1")
}

# finish_bg waits for the background steps and reports each as step does.
finish_bg() {
	local i rc secs
	for i in "${!bg_names[@]}"; do
		wait "${bg_pids[$i]}" || true
		section "${bg_names[$i]}"
		cat "$bg_dir/$i.log" 2>/dev/null || true
		read -r rc secs <"$bg_dir/$i.result" 2>/dev/null || { rc=1 secs=0; }
		if ((rc == 0)); then
			printf -- '--- %s: ok (%ss, beside the tests)\n' "${bg_names[$i]}" "$secs"
			record_phase "${bg_names[$i]} (beside the tests)" ok "$secs"
		else
			printf -- '--- %s: FAILED (%ss, beside the tests)\n' "${bg_names[$i]}" "$secs"
			record_phase "${bg_names[$i]} (beside the tests)" FAILED "$secs"
			failed+=("${bg_names[$i]}")
		fi
	done
	[[ -z $bg_dir ]] || rm -rf -- "$bg_dir"
	bg_dir="" bg_names=() bg_pids=()
}

# --- run ---

if ((start_services)); then
	if [[ -z ${MODELKEEP_TEST_MYSQL_DSN:-} ]]; then
		timed "MariaDB" setup_mariadb
	else
		section "MySQL"
		echo "using MODELKEEP_TEST_MYSQL_DSN from the environment"
	fi
	if [[ -z ${MODELKEEP_TEST_S3_ENDPOINT:-} ]]; then
		timed "versitygw (S3)" setup_versitygw
	else
		section "S3"
		echo "using MODELKEEP_TEST_S3_ENDPOINT=$MODELKEEP_TEST_S3_ENDPOINT from the environment"
	fi
fi

has_package=0
for arg in ${go_test_args[@]+"${go_test_args[@]}"}; do
	case $arg in
	. | .. | ./* | ../* | "$module" | "$module"/*) has_package=1 ;;
	esac
done
if ((!has_package)); then
	# The longest packages first: go test starts packages in the order
	# given (./... lists the rest once), and these two, mostly waiting on
	# servers and a browser, would otherwise start last and finish long
	# after the others.
	go_test_args+=(./server/ ./webui/browsertest/ ./store/ ./evidence/ ./...)
fi

if tests_selected webui/browsertest; then
	step "browser (Chromium, axe-core)" setup_browser
fi
if tests_selected clients/python; then
	step "python3 (the Python client)" setup_python
fi
if tests_selected internal/readme; then
	step "curl and jq (the README's examples)" setup_readme
fi

if ((run_checks)); then
	# go generate rewrites sources the tests compile: it runs first, alone.
	step "go generate (drift)" check_generate
	step_bg "go vet" check_vet
	step_bg "gofmt" check_gofmt
	step_bg "OpenAPI lint (redocly $REDOCLY_CLI_VERSION)" check_openapi
	step_bg "OWASP API Security lint (spectral $SPECTRAL_CLI_VERSION, ruleset $SPECTRAL_OWASP_VERSION)" check_owasp
fi

# fuzz_body_decoder fuzzes the one decoder of JSON request bodies against
# encoding/json (FuzzDecode) with one worker, beside the tests. A finding is
# written to internal/strictjson/testdata/fuzz/FuzzDecode/ and fails the
# step; commit it with the fix, and it runs as a regression test from then
# on.
fuzz_body_decoder() {
	go test -trimpath -ldflags=-w -run '^$' -fuzz '^FuzzDecode$' -fuzztime "$fuzztime" -fuzzminimizetime 1s -parallel 1 ./internal/strictjson
}
if ((!has_package)) && [[ $fuzztime != 0 && $fuzztime != 0s ]]; then
	step_bg "fuzz the body decoder ($fuzztime)" fuzz_body_decoder
fi

run_tests() {
	if ((${#failed[@]} > 0)); then
		echo "(checks failed so far: ${failed[*]})"
	fi
	go test -trimpath -ldflags=-w -count=1 -timeout 25m -p 4 -parallel "$test_parallel" "${go_test_args[@]}"
}
step "go test ${go_test_args[*]}" run_tests
finish_bg

if ((${#failed[@]} > 0)); then
	section "FAILED: ${failed[*]}"
	exit 1
fi
