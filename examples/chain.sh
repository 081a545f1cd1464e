#!/usr/bin/env bash
# Runs a three-relay chain a - b - c on this machine, with a UDP tunnel from 127.0.0.1:9000 (at a)
# to an echo server on 127.0.0.1:5000 (behind c), sends a few datagrams through it, prints the
# relays' counters, and keeps the mesh up until Ctrl-C. Used by README.md until `relaymesh demo` lands.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="node dist/cli/main.js"
dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 0' INT TERM
$bin keygen "$dir/mesh.key" 2>/dev/null
for r in a:7001 b:7002 c:7003; do
  id=${r%:*}; port=${r#*:}
  extra=()
  [ "$id" = a ] && extra=(--tunnel 127.0.0.1:9000@c=127.0.0.1:5000)
  # The default egress ports are 49152-65535 (docs/tunnels.md): name the echo server's port.
  [ "$id" = c ] && extra=(--egress-allow 127.0.0.1/32:5000)
  $bin relay --id "$id" --listen "127.0.0.1:$port" --static examples/static-chain.json \
    --mesh-key-file "$dir/mesh.key" --http "127.0.0.1:$((port + 2100))" "${extra[@]}" 2>"$dir/$id.log" &
  pids+=($!)
done
node -e "
const d = require('node:dgram'); const s = d.createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo: '), m]), r.port, r.address));
s.bind(5000, '127.0.0.1');" &
pids+=($!)
sleep 1
node -e "
const d = require('node:dgram'); const c = d.createSocket('udp4'); let n = 0;
c.on('message', (m) => { console.log('  reply via the mesh:', m.toString()); if (++n === 3) c.close(); });
for (const w of ['hello', 'over', 'relaymesh']) c.send(w, 9000, '127.0.0.1');
setTimeout(() => { if (n < 3) { console.log('  missing replies'); process.exit(1) } }, 2000);"
for r in a:9101 b:9102 c:9103; do
  echo "relay ${r%:*} (http://127.0.0.1:${r#*:}/metrics):"
  curl -s "127.0.0.1:${r#*:}/metrics" | grep -E '^relaymesh_packets_(forwarded|delivered)' | sed 's/^/  /' || true
done
echo "mesh is up: send UDP to 127.0.0.1:9000 (e.g. echo hi | nc -u -w1 127.0.0.1 9000); Ctrl-C stops it. Logs: $dir"
wait
