{
  "variables": {
    "lwip": "deps/lwip/src",
    "sanitize%": "0"
  },
  "targets": [
    {
      "target_name": "tcpip",
      "sources": [
        "src/core/address.c",
        "src/core/bridge.c",
        "src/core/dhcp_client.c",
        "src/core/errors.c",
        "src/core/icmp.c",
        "src/core/id_map.c",
        "src/core/interface.c",
        "src/core/link_conditions.c",
        "src/core/loopback.c",
        "src/core/pcap.c",
        "src/core/slaac.c",
        "src/core/stack.c",
        "src/core/sys_arch.c",
        "src/core/tap.c",
        "src/core/tcp_foreign.c",
        "src/core/tcp_socket.c",
        "src/core/udp_socket.c",
        "src/core/tun.c",
        "src/node/addon.cc",
        "src/node/capture.cc",
        "src/node/device.cc",
        "src/node/device_binding.cc",
        "src/node/inline_stack.cc",
        "src/node/link.cc",
        "src/node/link_binding.cc",
        "src/node/stack_binding.cc",
        "src/node/stack_core.cc",
        "src/node/spin_gate.cc",
        "src/node/stack_worker.cc",
        "src/node/tls_context.cc",
        "<(lwip)/core/def.c",
        "<(lwip)/core/inet_chksum.c",
        "<(lwip)/core/init.c",
        "<(lwip)/core/ip.c",
        "<(lwip)/core/mem.c",
        "<(lwip)/core/memp.c",
        "<(lwip)/core/netif.c",
        "<(lwip)/core/pbuf.c",
        "<(lwip)/core/raw.c",
        "<(lwip)/core/stats.c",
        "<(lwip)/core/sys.c",
        "<(lwip)/core/tcp.c",
        "<(lwip)/core/tcp_in.c",
        "<(lwip)/core/tcp_out.c",
        "<(lwip)/core/timeouts.c",
        "<(lwip)/core/udp.c",
        "<(lwip)/core/ipv4/dhcp.c",
        "<(lwip)/core/ipv4/etharp.c",
        "<(lwip)/core/ipv4/icmp.c",
        "<(lwip)/core/ipv4/igmp.c",
        "<(lwip)/core/ipv4/ip4.c",
        "<(lwip)/core/ipv4/ip4_addr.c",
        "<(lwip)/core/ipv4/ip4_frag.c",
        "<(lwip)/core/ipv6/ethip6.c",
        "<(lwip)/core/ipv6/icmp6.c",
        "<(lwip)/core/ipv6/inet6.c",
        "<(lwip)/core/ipv6/ip6.c",
        "<(lwip)/core/ipv6/ip6_addr.c",
        "<(lwip)/core/ipv6/ip6_frag.c",
        "<(lwip)/core/ipv6/mld6.c",
        "<(lwip)/core/ipv6/nd6.c",
        "<(lwip)/netif/ethernet.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "deps/port",
        "<(lwip)/include"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags": ["-Wall", "-Wextra", "-O2", "-fvisibility=hidden"],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "conditions": [
        ["sanitize==1", {
          "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
