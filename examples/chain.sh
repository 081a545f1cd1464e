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
# Each relay gets its own identity; the mesh file the relays read carries every relay's public key,
# so the data plane admits exactly these three (docs/static-mesh.md, docs/security.md).
for id in a b c; do $bin keygen --identity "$dir/$id.id" >/dev/null 2>&1; done
node -e "
const fs = require('node:fs'); const [src, dir] = process.argv.slice(1);
const mesh = JSON.parse(fs.readFileSync(src, 'utf8'));
for (const r of mesh.relays) r.key = fs.readFileSync(dir + '/' + r.id + '.id.pub', 'utf8').trim();
fs.writeFileSync(dir + '/mesh.json', JSON.stringify(mesh, null, 2));" examples/static-chain.json "$dir"
# Each daemon writes one line to --ready-fd once its sockets are bound; reading it from a FIFO waits
# exactly that long (and returns at once, empty, if the daemon exits first).
ready() { # NAME FIFO: waits for the ready line on FIFO, or fails naming NAME and its log
  local line=""
  read -r line <"$2" || true
  if [ -z "$line" ]; then echo "$1 did not start; its log: $dir/$1.log" >&2; cat "$dir/$1.log" >&2 || true; exit 1; fi
}
for r in a:7001 b:7002 c:7003; do
  id=${r%:*}; port=${r#*:}
  extra=()
  [ "$id" = a ] && extra=(--tunnel 127.0.0.1:9000@c=127.0.0.1:5000)
  # The default egress ports are 49152-65535 (docs/tunnels.md): name the echo server's port.
  [ "$id" = c ] && extra=(--egress-allow 127.0.0.1/32:5000)
  mkfifo "$dir/$id.ready"
  $bin relay --id "$id" --listen "127.0.0.1:$port" --static "$dir/mesh.json" --identity "$dir/$id.id" \
    --mesh-key-file "$dir/mesh.key" --http "127.0.0.1:$((port + 2100))" --ready-fd 3 "${extra[@]}" 2>"$dir/$id.log" 3>"$dir/$id.ready" &
  pids+=($!)
  ready "$id" "$dir/$id.ready"
done
mkfifo "$dir/echo.ready"
node -e "
const d = require('node:dgram'); const fs = require('node:fs'); const s = d.createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo: '), m]), r.port, r.address));
s.bind(5000, '127.0.0.1', () => { fs.writeSync(3, 'ready\\n'); fs.closeSync(3) });" 2>"$dir/echo.log" 3>"$dir/echo.ready" &
pids+=($!)
ready echo "$dir/echo.ready"
node -e "
const d = require('node:dgram'); const c = d.createSocket('udp4'); let n = 0;
c.on('message', (m) => { console.log('  reply via the mesh:', m.toString()); if (++n === 3) c.close(); });
for (const w of ['hello', 'over', 'relaymesh']) c.send(w, 9000, '127.0.0.1');
// Generous: a busy machine can be slow, but a reply that never comes fails the script.
setTimeout(() => { console.log('  missing replies'); process.exit(1) }, 10000).unref();"
for r in a:9101 b:9102 c:9103; do
  echo "relay ${r%:*} (http://127.0.0.1:${r#*:}/metrics):"
  curl -s "127.0.0.1:${r#*:}/metrics" | grep -E '^relaymesh_packets_(forwarded|delivered)' | sed 's/^/  /' || true
done
echo "mesh is up: send UDP to 127.0.0.1:9000 (e.g. echo hi | nc -u -w1 127.0.0.1 9000); Ctrl-C stops it. Logs: $dir"
wait
