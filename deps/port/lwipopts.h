/* lwIP configuration for tcpip: NO_SYS raw API, one instance per thread. */
#ifndef TCPIP_LWIPOPTS_H
#define TCPIP_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS 1
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_CALLBACK_API 1

/* Heap-backed pools: memory grows with use and is returned when sockets
 * close; bounds come from TCP windows, not from fixed pool sizes. */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define MEM_SIZE (1024 * 1024)
#define MEMP_NUM_TCP_PCB 65535
#define MEMP_NUM_TCP_PCB_LISTEN 65535
#define MEMP_NUM_TCP_SEG 65535
#define MEMP_NUM_UDP_PCB 1024
#define MEMP_NUM_REASSDATA 64
#define MEMP_NUM_FRAG_PBUF 256
#define MEMP_NUM_ND6_QUEUE 64
#define PBUF_POOL_SIZE 256
#define PBUF_POOL_BUFSIZE 1536

#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 1
/* Packets to a neighbour whose address ARP is still resolving wait, as many
 * as Linux's unres_qlen (101): lwIP's default keeps only the last, which
 * lost every fragment of a datagram but one. */
#define ARP_QUEUEING 1
#define ARP_QUEUE_LEN 101
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
/* Raw pcbs watch ICMP for the sockets (src/core/icmp.c). */
#define LWIP_RAW 1
#define LWIP_UDP 1
#define LWIP_TCP 1
/* The DHCP client (src/core/dhcp_client.c drives it). Its timers run only
 * while a client runs (patch 0033): a 500 ms and a 1 s tick. No
 * ARP probe of the offered address: it cost every lease a second, and the
 * server already checks what it hands out. DNS servers come from the lease
 * through hooks (patch 0032), without lwIP's DNS client (stack.dns is JS). */
#define LWIP_DHCP 1
#define LWIP_DHCP_TIMERS_EXTERNAL 1
/* Lease times count in ticks of this many seconds (16 bits of them): 1 s
 * renews a short lease on time (lwIP's 60 s renewed a 10 s lease after a
 * minute); a lease above 18 hours is taken as 18 hours, renewed at half. */
#define DHCP_COARSE_TIMER_SECS 1
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_DHCP_PROVIDE_DNS_SERVERS 3
/* dhcp.c decodes this many DNS servers of a lease (lwIP's DNS client is
 * off, and reads it nowhere else): never more than the slots above. */
#define DNS_MAX_SERVERS 3
struct ip_addr;
struct netif;
void tcpip_dhcp_bound(struct netif *netif);
void tcpip_dhcp_unbound(struct netif *netif);
void tcpip_dhcp_dns_server(struct netif *netif, unsigned index, const struct ip_addr *server);
#define LWIP_HOOK_DHCP_BOUND(netif) tcpip_dhcp_bound(netif)
#define LWIP_HOOK_DHCP_UNBOUND(netif) tcpip_dhcp_unbound(netif)
#define LWIP_HOOK_DHCP_DNS_SERVER(netif, numdns, dnsserver) \
  tcpip_dhcp_dns_server(netif, numdns, dnsserver)
#define LWIP_AUTOIP 0
/* Multicast groups are joined with IGMP and MLD reports, as a kernel joins
 * them; their timers run only while a report waits (patch 0031). */
#define LWIP_IGMP 1
#define LWIP_DNS 0
#define IP_REASSEMBLY 1
/* Fragments waiting for reassembly, all datagrams together. lwIP's 10 cannot
 * hold one 64 KiB UDP datagram cut to a 1500-byte MTU (45 fragments). */
#define IP_REASS_MAX_PBUFS 512
#define IP_FRAG 1
#define LWIP_IPV6_FRAG 1
#define LWIP_IPV6_REASS 1
/* 64-bit pointers do not fit in the IPv6 fragment header. */
#define IPV6_FRAG_COPYHEADER 1
#define LWIP_IPV6_DHCP6 0
/* SLAAC, on for an interface when asked (src/core/slaac.c); it brings
 * address lifetimes, which only autoconfigured addresses have. */
#define LWIP_IPV6_AUTOCONFIG 1
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_NUM_ADDRESSES 4
#define LWIP_IPV6_SCOPES 0
#define IP_FORWARD 0
/* Linux's default hop limit (lwIP's is 255). */
#define IP_DEFAULT_TTL 64
/* Per-socket multicast hop limit and loopback (Node's setMulticastTTL and
 * setMulticastLoopback). */
#define LWIP_MULTICAST_TX_OPTIONS 1
#define SO_REUSE 1

/* Loopback traffic is queued by netif_loop_output and delivered by
 * netif_poll_all() from the worker loop. */
#define LWIP_HAVE_LOOPIF 0
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_LOOPBACK_MAX_PBUFS 0
#define LWIP_NETIF_LOOPBACK_MULTITHREADING 0
/* Packet capture on loopback (deps/patches/0004): looped packets bypass
 * the interface's output function. */
struct pbuf;
struct netif;
void tcpip_loopback_capture(struct pbuf *p, struct netif *netif);
#define LWIP_HOOK_NETIF_LOOPBACK_INPUT(p, netif) tcpip_loopback_capture(p, netif)
/* lwIP's default initial sequence number is a counter that starts at 6510
 * in every stack: predictable, and equal across stacks. Random instead
 * (RFC 6528 asks for unpredictable ISNs). */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) LWIP_RAND()
#define LWIP_SINGLE_NETIF 0
#define LWIP_NETIF_HOSTNAME 0
#define LWIP_NUM_NETIF_CLIENT_DATA 1

/* No wire can corrupt an in-process link: checksums are chosen per netif. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1

/* TCP: large segments on in-process links, scaled windows. */
#define TCP_MSS 65000
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 6
#define TCP_WND (1024 * 1024)
#define TCP_SND_BUF (1024 * 1024)
#define TCP_SND_QUEUELEN 4096
#define TCP_SNDLOWAT (TCP_SND_BUF / 2)
/* init.c demands TCP_SNDLOWAT < 0xFFFF - 4 * TCP_MSS, which no value meets
 * with a 65000-byte MSS; TCP_SNDLOWAT is read only by the netconn API, which
 * is not built. The other TCP sanity checks hold for these settings. */
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1
#define TCP_SNDQUEUELOWAT (TCP_SND_QUEUELEN / 2)
/* An explicit window update once the window has grown by a quarter of what
 * the peer can be told. lwIP's default, a quarter of TCP_WND (256 KiB), is
 * more than a peer without window scaling can ever be told (64 KiB): such a
 * peer never heard that a window a slow reader had closed was open again,
 * and waited for its probes, backed off up to two minutes. Used only in
 * tcp_recved(), where `pcb` is the connection. */
#define TCP_WND_UPDATE_THRESHOLD (TCP_WND_MAX(pcb) / 4)
#define TCP_OVERSIZE TCP_MSS
#define TCP_QUEUE_OOSEQ 1
/* The out-of-order queue is a list walked for every segment that joins it:
 * a peer sending tiny segments into a wide window made each cost a walk of
 * thousands and its memory ~128 bytes of overhead per byte. 256 segments
 * hold a whole window of full-sized ones at MTU 4096 and up, and a quarter
 * window at 1500; what does not fit is dropped, and its sender resends. */
#define TCP_OOSEQ_MAX_BYTES TCP_WND
#define TCP_OOSEQ_MAX_PBUFS 256
#define LWIP_TCP_SACK_OUT 0
#define TCP_LISTEN_BACKLOG 1
/* lwIP counts half-open connections against a listener's backlog, 16 bits
 * since patch 0025; src/core/tcp_socket.c gives every listener at least
 * 2048, as Linux answers a burst (only tcp_listen() without one uses this). */
#define TCP_DEFAULT_LISTEN_BACKLOG 511
/* RFC 6298's 1 s before the first round-trip measurement (patch 0026);
 * lwIP's default is the 3 s of RFC 1122. */
#define TCP_INITIAL_RTO 1000
#define LWIP_TCP_KEEPALIVE 1
#define LWIP_TCP_TIMESTAMPS 0
#define TCP_CALCULATE_EFF_SEND_MSS 1
/* TIME_WAIT lasts 2*MSL. In-process peers need no minute-long quarantine,
 * and a short one keeps memory flat across connect/close churn. */
#define TCP_MSL 1000UL
/* ...but LAST-ACK waits for the ACK of the FIN as long as lwIP's default
 * (2 * 60 s; retransmissions give up sooner): at 2 * TCP_MSL it ended
 * before the FIN's first retransmission, and the peer never saw an end. */
#define TCP_LAST_ACK_TIMEOUT 120000UL
/* lwIP counts retransmission timeouts in ticks of 2 * TCP_TMR_INTERVAL.
 * 500 ms ticks make every loss cost a second or more; 100 ms ticks let TCP
 * recover at the pace of the link. The timer runs only while connections
 * exist. */
#define TCP_TMR_INTERVAL 50
#define TCP_SYNMAXRTX 6
#define TCP_MAXRTX 12
#define LWIP_TCP_PCB_NUM_EXT_ARGS 0

#define LWIP_STATS 0
#define LWIP_STATS_DISPLAY 0
#define MIB2_STATS 0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_NETIF_EXT_STATUS_CALLBACK 1
#define LWIP_PERF 0

#endif
