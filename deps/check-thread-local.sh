#!/bin/sh
# Check that the lwIP sources we build keep no mutable state outside
# thread-local storage (deps/patches/0001-thread-local-state.patch).
#
# Usage: deps/check-thread-local.sh [LWIP_DIR]     (default: deps/lwip)
# Env:   CC (default gcc), READELF (default readelf)
#
# Every file we compile is compiled twice into a temp dir: with our
# deps/port/lwipopts.h, and with a "wide" overlay that also turns on the
# features we leave off (DNS, DHCP, AUTOIP, IGMP, RAW, DHCP6, stats, lwIP's own
# heap, loopif, ...), so that state in currently disabled code is checked as
# well. Then every OBJECT symbol (local or global) in .data*/.bss*/COMMON is an
# offence; TLS symbols have type TLS, and .rodata* / .data.rel.ro* hold only
# const data. Exits 1 if anything is found or a file does not compile.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
lwip=${1:-$here/lwip}
port=$here/port
CC=${CC:-gcc}
READELF=${READELF:-readelf}

if [ ! -f "$lwip/src/core/tcp.c" ]; then
  echo "check-thread-local: $lwip is no lwIP tree (run node deps/fetch.js)" >&2
  exit 1
fi
lwip=$(cd "$lwip" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcpip-tlcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

files="
src/core/init.c src/core/def.c src/core/dns.c src/core/inet_chksum.c
src/core/ip.c src/core/mem.c src/core/memp.c src/core/netif.c src/core/pbuf.c
src/core/raw.c src/core/stats.c src/core/sys.c src/core/tcp.c src/core/tcp_in.c
src/core/tcp_out.c src/core/timeouts.c src/core/udp.c
$(cd "$lwip" && ls src/core/ipv4/*.c src/core/ipv6/*.c)
src/netif/ethernet.c
"

# The wide overlay: our options, then everything we normally leave off.
mkdir -p "$tmp/wide"
cat > "$tmp/wide/lwipopts.h" <<EOF
#include "$port/lwipopts.h"
#undef LWIP_DNS
#define LWIP_DNS 1
#define DNS_LOCAL_HOSTLIST 1
#define DNS_LOCAL_HOSTLIST_INIT {DNS_LOCAL_HOSTLIST_ELEM("localhost", IPADDR4_INIT_BYTES(127, 0, 0, 1))}
#undef LWIP_DHCP
#define LWIP_DHCP 1
#undef LWIP_AUTOIP
#define LWIP_AUTOIP 1
#undef LWIP_IGMP
#define LWIP_IGMP 1
#undef LWIP_RAW
#define LWIP_RAW 1
#undef LWIP_IPV6_DHCP6
#define LWIP_IPV6_DHCP6 1
#undef LWIP_IPV6_AUTOCONFIG
#define LWIP_IPV6_AUTOCONFIG 1
#undef LWIP_STATS
#define LWIP_STATS 1
#define MEMP_STATS 0
#undef MEM_LIBC_MALLOC
#define MEM_LIBC_MALLOC 0
#undef MEM_SIZE
#define MEM_SIZE 65536
#undef LWIP_HAVE_LOOPIF
#define LWIP_HAVE_LOOPIF 1
#undef LWIP_NETIF_EXT_STATUS_CALLBACK
#define LWIP_NETIF_EXT_STATUS_CALLBACK 1
#undef LWIP_TCP_PCB_NUM_EXT_ARGS
#define LWIP_TCP_PCB_NUM_EXT_ARGS 1
EOF

status=0
for config in port wide; do
  if [ "$config" = port ]; then inc="-I$port"; else inc="-I$tmp/wide -I$port"; fi
  mkdir -p "$tmp/$config"
  for f in $files; do
    obj=$tmp/$config/$(echo "$f" | tr / _ | sed 's/\.c$/.o/')
    # shellcheck disable=SC2086
    if ! $CC -std=c11 -O2 -fPIC -Wall -Wextra -c $inc -I"$lwip/src/include" \
         "$lwip/$f" -o "$obj" 2> "$obj.log"; then
      echo "check-thread-local: $f does not compile ($config options):" >&2
      cat "$obj.log" >&2
      status=1
      continue
    fi
    if [ -s "$obj.log" ]; then
      echo "check-thread-local: warnings in $f ($config options):" >&2
      cat "$obj.log" >&2
    fi
    # Section index -> name, then OBJECT symbols outside const sections.
    "$READELF" -SW "$obj" | sed -n 's/^ *\[ *\([0-9][0-9]*\)\] \([^ ]*\) .*/\1 \2/p' > "$obj.sec"
    "$READELF" -sW "$obj" | awk -v file="$f" -v config="$config" '
      NR == FNR { sec[$1] = $2; next }
      $4 == "OBJECT" {
        ndx = $7; name = (ndx == "COM") ? "COMMON" : sec[ndx]
        if (name ~ /^\.(data|bss)/ && name !~ /^\.data\.rel\.ro/ || name == "COMMON")
          printf "%-5s %-28s %-16s %-6s %s\n", config, file, name, $5, $8
      }' "$obj.sec" - >> "$tmp/offences"
  done
done

if [ -s "$tmp/offences" ]; then
  echo "check-thread-local: mutable lwIP state outside thread-local storage:" >&2
  echo "opts  file                         section          bind   symbol" >&2
  cat "$tmp/offences" >&2
  status=1
fi
count=$(echo "$files" | wc -w)
if [ "$status" = 0 ]; then
  echo "check-thread-local: OK, $count files x 2 option sets, no mutable state outside TLS"
fi
exit $status
