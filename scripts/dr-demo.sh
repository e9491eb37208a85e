#!/usr/bin/env bash
# The disaster-recovery system on a built-in default, from a clean machine (Debian, as root):
# installs what is needed, builds, starts a throwaway PostgreSQL 15, Redis and Pushgateway on
# loopback in a temp folder, makes a sample volume, runs `dr test` and `dr backup all`, restores
# everything into scratch targets (a copy database, a scratch Redis folder loaded by a
# throwaway redis-server, a scratch folder for the volume), compares the results with the
# originals, lets restic check the repository, prints the result and stops the servers.
#   SKIP_INSTALL=1  do not run scripts/install-deps.sh
#   KEEP=1          keep the temp folder (repository, logs, restored data)
#   SCRATCH_PATH=D  build in D instead of .build
set -euo pipefail
cd "$(dirname "$0")/.."

need=(psql pg_dump pg_restore redis-server redis-cli prometheus-pushgateway curl restic python3)
missing=0
for tool in "${need[@]}"; do command -v "$tool" >/dev/null 2>&1 || missing=1; done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing=1
if [[ ${SKIP_INSTALL:-0} != 1 && $missing == 1 ]]; then
    echo "== installing dependencies"
    bash scripts/install-deps.sh
fi
echo "== building cartae-restic (release)"
scratch=(); [[ -n ${SCRATCH_PATH:-} ]] && scratch=(--scratch-path "$SCRATCH_PATH")
build_log=$(mktemp)
swift build -c release "${scratch[@]}" --product cartae-restic >"$build_log" 2>&1 || { cat "$build_log"; exit 1; }
rm -f "$build_log"
bin=$(swift build -c release "${scratch[@]}" --show-bin-path)/cartae-restic

work=$(mktemp -d /tmp/cartae-dr-demo.XXXXXX)
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port); redis_port=$(free_port); gw_port=$(free_port)
pg_password="demo-pg-$RANDOM$RANDOM"; redis_password="demo-redis-$RANDOM$RANDOM"
as_postgres() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
    set +e
    [[ -n ${gw_pid:-} ]] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
    REDISCLI_AUTH=$redis_password redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1
    [[ -f $work/pg/data/postmaster.pid ]] && as_postgres "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== starting PostgreSQL on 127.0.0.1:$pg_port, Redis on :$redis_port, Pushgateway on :$gw_port ($work)"
mkdir -p "$work/pg" "$work/redis" "$work/logs"
echo "$pg_password" >"$work/pg/pw"
[[ $(id -u) == 0 ]] && chown -R postgres "$work/pg"
as_postgres "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=md5 --pwfile="$work/pg/pw" >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --daemonize yes \
    --pidfile "$work/redis/redis.pid" --logfile "$work/redis/redis.log" --save '' --appendonly no \
    --requirepass "$redis_password" --repl-diskless-sync-delay 0
prometheus-pushgateway --web.listen-address="127.0.0.1:$gw_port" --persistence.file= >"$work/pushgateway.log" 2>&1 &
gw_pid=$!

sql() { PGPASSWORD=$pg_password psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
rcli() { REDISCLI_AUTH=$redis_password redis-cli -p "$redis_port" "$@"; }
for _ in $(seq 100); do rcli ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
for _ in $(seq 100); do curl -sf "127.0.0.1:$gw_port/-/healthy" >/dev/null && break; sleep 0.1; done

echo "== sample data: database 'shop' (150,000 orders), 1,000 Redis keys, a volume"
sql -d postgres -c "CREATE DATABASE shop"
sql -d shop <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO customers SELECT i, 'customer ' || i FROM generate_series(1, 5000) i;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers(id), amount numeric(10,2), placed timestamptz);
INSERT INTO orders (customer, amount, placed)
  SELECT 1 + i % 5000, (i % 9973) / 10.0, '2024-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 150000) i;
SQL
rcli eval "for i = 1, 900 do redis.call('SET', 'session:' .. i, 'user-' .. i) end
for i = 1, 50 do redis.call('RPUSH', 'queue:' .. i, 'a', 'b', i) end
for i = 1, 50 do redis.call('HSET', 'cart:' .. i, 'items', i, 'total', i * 3) end return 1" 0 >/dev/null
volume="$work/volumes/app-uploads"
mkdir -p "$volume/2024/06"
head -c 3000000 /dev/urandom >"$volume/2024/06/photo.bin"
printf 'demo volume\n' >"$volume/README"
cp -r /usr/share/doc/bash "$volume/docs" 2>/dev/null || echo "docs" >"$volume/docs.txt"

cat >"$work/dr.env" <<ENV
RESTIC_REPOSITORY=$work/repo
RESTIC_PASSWORD=demo-repository-password
RESTIC_HOST=dr-demo
POSTGRES_HOST=127.0.0.1
POSTGRES_PORT=$pg_port
POSTGRES_USER=postgres
POSTGRES_PASSWORD=$pg_password
POSTGRES_DB=shop
REDIS_HOST=127.0.0.1
REDIS_PORT=$redis_port
REDIS_PASSWORD=$redis_password
REDIS_DATA_DIR=$work/redis
BACKUP_VOLUMES=$volume
PUSHGATEWAY_URL=http://127.0.0.1:$gw_port
LOG_DIR=$work/logs
ENV
dr() { env -u RESTIC_REPOSITORY -u RESTIC_PASSWORD -u RESTIC_PASSWORD_FILE "$bin" dr "$@" --env-file "$work/dr.env"; }
now() { date +%s%3N; }
seconds() { printf "%d.%03d" $(( ($2 - $1) / 1000 )) $(( ($2 - $1) % 1000 )); }

echo "== dr backup all"
t0=$(now); dr backup all; t1=$(now)
echo "== dr test"
dr test
echo "== dr restore all latest into scratch targets"
t2=$(now); dr restore all latest --target "$work/restore" --target-db shop_restored --verify | tee "$work/restore.out"; t3=$(now)

echo "== verifying the restored copies against the originals"
ok=1
check() { if [[ "$2" == "$3" ]]; then echo "PASS  $1"; else echo "FAIL  $1 ($2 != $3)"; ok=0; fi; }
digest="SELECT count(*) || ':' || md5(string_agg(o::text, '|' ORDER BY o.id)) FROM orders o"
check "postgres orders (rows and content)" "$(sql -d shop -c "$digest")" "$(sql -d shop_restored -c "$digest")"
check "postgres customers (rows)" "$(sql -d shop -c 'SELECT count(*) FROM customers')" "$(sql -d shop_restored -c 'SELECT count(*) FROM customers')"
keys=$(rcli dbsize)
check "redis dump.rdb restored (RDB header)" "$(head -c 5 "$work/restore/redis/dump.rdb")" "REDIS"
if grep -q "a throwaway redis-server loaded $keys keys" "$work/restore.out"; then
    echo "PASS  redis: a throwaway redis-server loaded the restored RDB with all $keys keys"
else
    echo "FAIL  redis: the restored RDB did not load $keys keys"; ok=0
fi
if diff -r --no-dereference "$volume" "$work/restore$volume" >/dev/null; then echo "PASS  volume (byte comparison)"; else echo "FAIL  volume differs"; ok=0; fi
if RESTIC_PASSWORD=demo-repository-password restic --no-cache -r "$work/repo" check --read-data >/dev/null 2>&1; then
    echo "PASS  restic check --read-data accepts the repository"
else
    echo "FAIL  restic check"; ok=0
fi
success=$(curl -s "127.0.0.1:$gw_port/metrics" | grep -c '^backup_success{.*} 1$' || true)
check "pushgateway: backup_success 1 for all 3 stages" "$success" "3"

echo
RESTIC_PASSWORD=demo-repository-password restic --no-cache -r "$work/repo" snapshots
echo "timings: dr backup all $(seconds "$t0" "$t1") s, dr restore all $(seconds "$t2" "$t3") s"
if [[ $ok == 1 ]]; then
    echo "dr demo OK: PostgreSQL, Redis and the volume were backed up, restored into scratch targets and verified"
else
    echo "dr demo FAILED"; exit 1
fi
