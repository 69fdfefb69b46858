# Shared by the scripts/bench-* benchmarks (sourced, from the project root, with `out` and
# `secs` set): the binary under test, a server on a free loopback port, and client
# credentials.
#
#   rb          the binary: $RB_BIN, else this tree's release build (built here)
#   port, base  a free loopback port and its URL
#   start URL [serve args]  serve the store URL there (stopped on exit); stop
#   token URL NAME SCOPES   a bearer token of a new client (SCOPES: comma-separated, or empty
#                           for the default read scopes)
#   basic URL NAME SCOPES   the base64 HTTP Basic credentials of a new client
#   machine_line            the machine and the wrk settings, for the report

if [ -z "${RB_BIN:-}" ]; then cargo build --release --quiet; fi
rb=${RB_BIN:-$PWD/target/release/rosterbridge}
mkdir -p "$out"
export ROSTERBRIDGE_KEY_FILE=$PWD/$out/bench.key
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
server_pid=
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=; }
trap stop EXIT
start() { # database-url [extra args]
  local url=$1; shift
  $rb --database-url "$url" serve --bind "127.0.0.1:$port" "$@" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.05; done
  echo "server did not start"; exit 1
}
client_json() { # database-url name scopes
  if [ -n "$3" ]; then
    $rb --database-url "$1" client add "$2" --scopes "$3" --json
  else
    $rb --database-url "$1" client add "$2" --json
  fi
}
token() { # database-url name scopes
  local creds id secret
  creds=$(client_json "$1" "$2" "$3")
  id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$creds")
  secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$creds")
  curl -sf -u "$id:$secret" -d grant_type=client_credentials "$base/oauth/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
basic() { # database-url name scopes
  client_json "$1" "$2" "$3" |
    python3 -c 'import base64,json,sys; c=json.load(sys.stdin); print(base64.b64encode((c["client_id"]+":"+c["client_secret"]).encode()).decode())'
}
machine_line() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); wrk $secs s, 32 connections, 2 threads"
}
