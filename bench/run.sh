#!/usr/bin/env bash
# The Modelkeep benchmarks in one command, on a fresh machine:
#
#   bash bench/run.sh [OPTIONS] [--] [TRANSFER_FLAGS...]
#
# 1. The transfer benchmark (bench/transfer): a 1 GiB file uploaded and
#    downloaded directly to an S3 server and through Modelkeep, side by side,
#    with the server's memory sampled; it exits 1 when a target is missed.
#    TRANSFER_FLAGS go to it as given: `bash bench/run.sh -- -h` lists them
#    (-size 256MiB, -reps 5, -database mysql://..., ...).
# 2. The Go benchmarks: go test -run '^$' -bench . -benchmem ./server/
#    (BenchmarkGetVersion and its /healthz baseline, BenchmarkEvidenceExport
#    and its version GET baseline, ...; the mysql+s3 backend runs when
#    MODELKEEP_TEST_MYSQL_DSN is set too).
#
# Options:
#   --search          run only the search benchmark instead: a fresh MariaDB
#                     database mk_bench_search_<random> (and a user for it,
#                     both dropped at exit) is seeded by bench/seed and
#                     measured by bench/search. Needs MariaDB answering root on
#                     its socket (`mariadb -uroot`; scripts/test.sh starts
#                     one). `-scale F` after the options goes to the seeder,
#                     every other flag to bench/search (-duration, -requests,
#                     -only SCENARIO, -cpuprofile FILE). For the run, MariaDB
#                     gets the settings a registry of this size runs with in
#                     production: an InnoDB buffer pool of 4 GiB (the data and
#                     indexes are about 3.5 GiB) and the adaptive hash index
#                     on; both are dynamic and put back at exit. --db-defaults
#                     leaves MariaDB's settings alone.
#   --db-defaults     with --search: keep MariaDB's own settings
#   --meta BASE       run only the metadata benchmark (bench/meta) instead:
#                     this checkout and commit BASE (built from `git archive`
#                     of it in a temporary directory), each started as its own
#                     server on a fresh MariaDB database mk_bench_meta_<random>
#                     (a user for them is made and dropped at exit), logging
#                     to files, alternating from round to round; the flags
#                     after it go to bench/meta (-rounds, -duration,
#                     -connections, -threads, -only). Needs MariaDB answering
#                     root on its socket, like --search.
#   --transfer-only   run only the transfer benchmark
#   --go-only         run only the Go benchmarks
#   -h, --help        show this help
#
# S3 server: when MODELKEEP_TEST_S3_ENDPOINT is not set, a versitygw (POSIX
# backend in a fresh temporary directory, random keys) is started on a free
# loopback port and removed at exit; the pinned versitygw is built once per
# machine (scripts/lib.sh, as for the tests). Set MODELKEEP_TEST_S3_ENDPOINT, MODELKEEP_TEST_S3_ACCESS_KEY
# and MODELKEEP_TEST_S3_SECRET_KEY to use a server of your own.
#
# Needs: bash, Go, Linux; about 3 GiB free in $TMPDIR and the S3 server's disk.
# Exit status: non-zero when a benchmark failed or missed its target.

set -euo pipefail


usage() {
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

run_transfer=1
run_go=1
run_search=0
run_meta=0
meta_base=""
tune_db=1
while (($# > 0)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--search) run_search=1 ;;
	--meta)
		run_meta=1
		meta_base=${2:?--meta needs a commit}
		shift
		;;
	--db-defaults) tune_db=0 ;;
	--transfer-only) run_go=0 ;;
	--go-only) run_transfer=0 ;;
	--)
		shift
		break
		;;
	*) break ;;
	esac
	shift
done
transfer_args=("$@")

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

for arg in ${transfer_args[@]+"${transfer_args[@]}"}; do
	case $arg in
	-h | -help | --help)
		# The transfer tool's own help; nothing to start for that.
		ensure_go
		exec go run ./bench/transfer -h
		;;
	esac
done


die() {
	printf 'error: %s\n' "$*" >&2
	exit 2
}




# --- cleanup: everything this run started or created ---

vgw_pid=""
work_dir=""
search_db=""
db_restore=""

cleanup() {
	set +e
	if [[ -n $db_restore ]]; then
		mariadb -uroot --batch -e "$db_restore"
	fi
	if [[ -n ${meta_user:-} ]]; then
		mariadb -uroot --batch -e "DROP USER IF EXISTS '$meta_user'@'127.0.0.1'"
	fi
	if [[ -n $search_db ]]; then
		mariadb -uroot --batch -e "DROP DATABASE IF EXISTS \`$search_db\`; DROP USER IF EXISTS '$search_db'@'127.0.0.1'"
	fi
	stop_versitygw
	if [[ -n $work_dir ]]; then
		rm -rf -- "$work_dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Go ---

ensure_go
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/modelkeep-bench-run.XXXXXX")

# --- search benchmark (--search): MariaDB only, no S3 ---

# cpu_idle_percent prints how idle the machine's CPUs were over one second.
cpu_idle_percent() {
	local a b
	read -r -a a < /proc/stat
	sleep 1
	read -r -a b < /proc/stat
	local total=0 i
	for i in 1 2 3 4 5 6 7 8; do
		total=$((total + b[i] - a[i]))
	done
	echo $(((b[4] - a[4] + b[5] - a[5]) * 100 / (total > 0 ? total : 1)))
}

# settle_mariadb waits (at most 5 minutes) until MariaDB has written the
# seeded pages out and the machine is idle: after 19 million inserts InnoDB
# flushes and purges for minutes, and measuring meanwhile measures that.
settle_mariadb() {
	local dirty idle
	echo "waiting for MariaDB to flush the seeded data and the machine to go idle..."
	db_restore="${db_restore:+$db_restore; }SET GLOBAL innodb_max_dirty_pages_pct = $old_dirty_pct"
	mariadb -uroot --batch -e "SET GLOBAL innodb_max_dirty_pages_pct = 0"
	for _ in {1..150}; do
		dirty=$(mariadb -uroot --batch --skip-column-names -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | awk '{print $2}')
		idle=$(cpu_idle_percent)
		if ((dirty < 1000 && idle >= 90)); then
			echo "settled: $dirty dirty pages, CPUs ${idle}% idle"
			mariadb -uroot --batch -e "SET GLOBAL innodb_max_dirty_pages_pct = $old_dirty_pct"
			return
		fi
		sleep 1
	done
	mariadb -uroot --batch -e "SET GLOBAL innodb_max_dirty_pages_pct = $old_dirty_pct"
	echo "warning: MariaDB still busy ($dirty dirty pages, CPUs ${idle}% idle); measuring anyway" >&2
}

if ((run_meta)); then
	section "metadata benchmark: $(git rev-parse --short HEAD) (with local changes, if any) against $meta_base"
	command -v mariadb >/dev/null && mariadb -uroot --batch -e 'SELECT 1' >/dev/null 2>&1 ||
		die "MariaDB does not answer root on its socket (mariadb -uroot); start it (scripts/test.sh does)"
	mkdir -p "$work_dir/base-src"
	git archive "$meta_base" | tar -x -C "$work_dir/base-src"
	(cd "$work_dir/base-src" && CGO_ENABLED=0 go build -o "$work_dir/mk-base" ./cmd/modelkeep)
	CGO_ENABLED=0 go build -o "$work_dir/mk-new" ./cmd/modelkeep
	go build -o "$work_dir/meta" ./bench/meta
	port=$(mariadb -uroot --batch --skip-column-names -e 'SELECT @@port')
	pass=$(rand_hex 16)
	meta_user="mk_bench_meta_$(rand_hex 4)"
	mariadb -uroot --batch <<<"CREATE USER '$meta_user'@'127.0.0.1' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`mk\\_bench\\_meta\\_%\`.* TO '$meta_user'@'127.0.0.1';"
	echo "load before: $(uptime)"
	mkdir -p "$work_dir/logs"
	MODELKEEP_TEST_MYSQL_DSN="mysql://$meta_user:$pass@127.0.0.1:$port/" "$work_dir/meta" \
		-bin "base=$work_dir/mk-base" -bin "new=$work_dir/mk-new" -logs "$work_dir/logs" \
		${transfer_args[@]+"${transfer_args[@]}"} || die "metadata benchmark failed"
	echo "load after: $(uptime)"
	exit 0
fi

if ((run_search)); then
	section "search benchmark"
	command -v mariadb >/dev/null && mariadb -uroot --batch -e 'SELECT 1' >/dev/null 2>&1 ||
		die "MariaDB does not answer root on its socket (mariadb -uroot); start it (scripts/test.sh does)"
	seed_args=()
	search_args=()
	set -- ${transfer_args[@]+"${transfer_args[@]}"}
	while (($# > 0)); do
		case $1 in
		-scale | --scale) seed_args+=(-scale "${2:?-scale needs a value}") && shift ;;
		-scale=* | --scale=*) seed_args+=("$1") ;;
		*) search_args+=("$1") ;;
		esac
		shift
	done
	port=$(mariadb -uroot --batch --skip-column-names -e 'SELECT @@port')
	old_dirty_pct=$(mariadb -uroot --batch --skip-column-names -e 'SELECT @@innodb_max_dirty_pages_pct')
	pass=$(rand_hex 16)
	search_db="mk_bench_search_$(rand_hex 6)"
	# The user has the database's name and rights on it alone; the URL goes
	# to the tools in the environment, out of the process list.
	mariadb -uroot --batch <<<"CREATE DATABASE \`$search_db\`;
CREATE USER '$search_db'@'127.0.0.1' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`$search_db\`.* TO '$search_db'@'127.0.0.1';"
	dsn="mysql://$search_db:$pass@127.0.0.1:$port/$search_db"
	echo "database $search_db on 127.0.0.1:$port"
	if ((tune_db)); then
		read -r old_pool old_ahi < <(mariadb -uroot --batch --skip-column-names \
			-e 'SELECT @@innodb_buffer_pool_size, @@innodb_adaptive_hash_index')
		db_restore="SET GLOBAL innodb_buffer_pool_size = $old_pool; SET GLOBAL innodb_adaptive_hash_index = $old_ahi"
		want_pool=$((4 << 30))
		((old_pool > want_pool)) && want_pool=$old_pool
		mariadb -uroot --batch -e "SET GLOBAL innodb_buffer_pool_size = $want_pool; SET GLOBAL innodb_adaptive_hash_index = ON"
		echo "MariaDB for this run: innodb_buffer_pool_size $want_pool (was $old_pool), adaptive hash index on (was $old_ahi)"
	fi
	go build -o "$work_dir/seed" ./bench/seed
	go build -o "$work_dir/search" ./bench/search
	MODELKEEP_BENCH_MYSQL_DSN=$dsn "$work_dir/seed" ${seed_args[@]+"${seed_args[@]}"} || die "seeding failed"
	settle_mariadb
	status=0
	MODELKEEP_BENCH_MYSQL_DSN=$dsn "$work_dir/search" ${search_args[@]+"${search_args[@]}"} || status=$?
	case $status in
	0) exit 0 ;;
	1) section "FAILED: search (target missed)" && exit 1 ;;
	*) section "FAILED: search (exit status $status)" && exit 1 ;;
	esac
fi

# --- versitygw ---


setup_versitygw() {
	section "versitygw (S3)"
	start_versitygw "$work_dir/s3" "$work_dir/versitygw.log"
	echo "versitygw $("$vgw_bin" --version 2>/dev/null | sed -n 's/^Version *: *//p') ($vgw_bin, pid $vgw_pid) on $MODELKEEP_TEST_S3_ENDPOINT"
}

if [[ -z ${MODELKEEP_TEST_S3_ENDPOINT:-} ]]; then
	setup_versitygw
else
	section "S3"
	echo "using MODELKEEP_TEST_S3_ENDPOINT=$MODELKEEP_TEST_S3_ENDPOINT from the environment"
fi

# --- benchmarks ---

failed=()

if ((run_transfer)); then
	section "transfer benchmark"
	# Built rather than `go run`, which turns every exit status into 1: the
	# tool exits 1 for a missed target and 2 for a run that failed.
	go build -o "$work_dir/transfer" ./bench/transfer
	pid_args=()
	if [[ -n $vgw_pid ]]; then
		pid_args=(-s3-pid "$vgw_pid")
	fi
	status=0
	"$work_dir/transfer" -tmp "$work_dir" ${pid_args[@]+"${pid_args[@]}"} ${transfer_args[@]+"${transfer_args[@]}"} || status=$?
	case $status in
	0) ;;
	1) failed+=("transfer (target missed)") ;;
	*) failed+=("transfer (exit status $status)") ;;
	esac
fi

if ((run_go)); then
	section "go test -run '^\$' -bench . -benchmem ./server/"
	if ! go test -run '^$' -bench . -benchmem ./server/; then
		failed+=("go benchmarks")
	fi
fi

if ((${#failed[@]} > 0)); then
	section "FAILED: ${failed[*]}"
	exit 1
fi
