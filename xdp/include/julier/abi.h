/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The one definition of everything the forwarder and the control plane share:
 * map keys and values, limits, enums and counter names. Included by BPF C
 * (the xdp/ programs) and by C++ (control/). No number here is written twice anywhere.
 *
 * Byte order: addresses and ports are kept in network byte order exactly as they
 * appear on the wire; every other field is host order.
 */
#ifndef JULIER_ABI_H
#define JULIER_ABI_H

#include <linux/types.h>

/* Bump whenever a map's key, value or meaning changes. Stored in the pinned
 * jl_meta map so that a daemon never adopts pinned state it cannot read. */
/* 2: jl_settings, jl_flood_window, forward_flood counters.
 * 3: the ICMP answer rate (jl_settings.icmp_answer_rate, jl_icmp_window, icmp_rate_limited).
 * 4: the decapsulator's allowed outer sources (jl_decap_sources, jl_decap_cfg.sources,
 *    source and unconfigured counters); an empty configuration decapsulates nothing.
 * 5: connection table v2: jl_flow carries a time and flags (TCP linger after FIN/RST,
 *    UDP idle expiry), jl_vip.udp_idle_timeout_ms, jl_service_traffic.nonsyn_miss.
 * 6: jl_vip.flags JL_VIP_F_HASH_NO_SOURCE_PORT and JL_VIP_F_HASH_DESTINATION_PORT.
 * 7: jl_vip.flags JL_VIP_F_ANSWER_PING (echo requests answered by the forwarder), the
 *    echo_reply, echo_rate_limited and echo_invalid counters.
 * 8: jl_backend_stats holds struct jl_backend_traffic (new_flows per backend). */
#define JL_ABI_VERSION 8

/* Catalogue tables are double-buffered: side 0 and side 1. The control plane
 * writes the inactive side, then flips jl_active; a packet reads jl_active once
 * and sees one whole generation. */
#define JL_SIDES 2

/* Load-time defaults (the real sizes come from the catalogue's `limits`). */
#define JL_DEFAULT_MAX_SERVICES 64u    /* services (VIP:port:proto) */
#define JL_DEFAULT_MAX_BACKENDS 16384u /* backend ids, per side */
/* Ring slots per side: max_services rings of the default size, so that the default
 * limits take any catalogue of default services they count (32 MiB a side). */
#define JL_DEFAULT_RING_CAPACITY (JL_DEFAULT_MAX_SERVICES * JL_DEFAULT_RING_SIZE)
#define JL_DEFAULT_MAX_FLOWS (1u << 20) /* connection table entries */

#define JL_DEFAULT_RING_SIZE 65537u
#define JL_DEFAULT_MTU 1500u
#define JL_DEFAULT_OUTER_TTL 64u
#define JL_DEFAULT_GUE_PORT 6080u

/* Flood protection (jl_settings.flood_new_flow_rate): connection-table writes per
 * second per CPU; above it new flows are forwarded by their Maglev pick but not
 * remembered. The default is the per-core rate Katran ships with (MAX_CONN_RATE). */
#define JL_DEFAULT_FLOOD_NEW_FLOW_RATE 125000u
#define JL_FLOOD_WINDOW_NS 1000000000ull /* one fixed window per CPU */

/* ICMP the forwarder sends (packet too big, frag needed): answers per second per CPU
 * (jl_settings.icmp_answer_rate), as RFC 4443 2.4 (f) requires of every ICMPv6
 * sender; over it the packet is dropped and counted (icmp_rate_limited). Linux's
 * own default is 1000 per second (net.ipv4.icmp_msgs_per_sec). */
#define JL_DEFAULT_ICMP_ANSWER_RATE 1000u

/*
 * Connection table rules (docs/forwarder.md, "Flows"). A FIN or RST the client sends
 * on a flow with an entry ends the entry after a linger; past it the entry counts as
 * absent. FIN: the backend may still send data the client acknowledges, and the
 * client's last ACK and FIN retransmissions must reach it; 60 s is how long Linux
 * keeps an orphaned half-closed connection (tcp_fin_timeout) and its TIME_WAIT.
 * RST: the client has no connection left; the linger only covers packets in flight
 * behind the RST and the challenge-ACK exchange a backend starts when the RST is
 * not in its window (RFC 5961), a round trip or two.
 */
#define JL_TCP_FIN_LINGER_NS (60ull * 1000000000ull)
#define JL_TCP_RST_LINGER_NS (2ull * 1000000000ull)
/* UDP entries expire after jl_vip.udp_idle_timeout_ms without a packet (Katran's
 * default is 30 s). Their last-seen time is rewritten only when it is older than
 * JL_UDP_REFRESH_NS, so a busy flow costs one write per quarter second, not one per
 * packet; expiry is therefore up to that much early. */
#define JL_DEFAULT_UDP_IDLE_TIMEOUT_MS 30000u
#define JL_UDP_REFRESH_NS 250000000ull

/* Parser limits. */
#define JL_MAX_IPV6_EXT_HEADERS 4 /* hop-by-hop, routing, dest-opts, fragment */

/* Seed of the flow hash. Must be identical on every box of a fleet: with the same
 * Maglev ring, the same flow then reaches the same backend through any box. */
#define JL_HASH_SEED 0x6a756c69u /* "juli" */

/* The GUE header (variant 0, no fields) between the outer UDP header and the packet. */
#define JL_GUE_HEADER_BYTES 4u

/* The smallest MTU an IPv6 link may have (RFC 8200 5): the least a Packet Too Big
 * may advertise (RFC 8201 4), and so the least an IPv6 VIP's mtu minus its
 * encapsulation may be. */
#define JL_IPV6_MIN_MTU 1280u

/* Source ports used for the outer UDP header of GUE (flow entropy for ECMP/RSS). */
#define JL_GUE_SPORT_MIN 49152u
#define JL_GUE_SPORT_MASK 0x3fffu

enum jl_family {
	JL_FAMILY_V4 = 4,
	JL_FAMILY_V6 = 6,
};

/* How a service forwards to its backends. */
enum jl_mode {
	JL_MODE_L2 = 0,     /* direct server return by MAC rewrite */
	JL_MODE_IPIP = 1,   /* IPv4 in IPv4 */
	JL_MODE_IP6IP6 = 2, /* IPv6 in IPv6 */
	JL_MODE_IP4IN6 = 3, /* IPv4 in IPv6 */
	JL_MODE_GUE = 4,    /* IP in UDP/GUE (variant 0), outer family = backend's */
	JL_MODE_COUNT
};

/* jl_vip.flags */
enum jl_vip_flags {
	JL_VIP_F_SOURCE_AFFINITY = 1u << 0,       /* ring hash on the source address only */
	JL_VIP_F_HASH_NO_SOURCE_PORT = 1u << 1,   /* ring hash on the 5-tuple with source port 0 */
	JL_VIP_F_HASH_DESTINATION_PORT = 1u << 2, /* ring hash on destination port and protocol */
	/* Echo requests to the address are answered by the forwarder. A property of the
	 * address: set on every service of it or on none, and read from its jl_frag_vips
	 * entries. */
	JL_VIP_F_ANSWER_PING = 1u << 3,
};
/* The flags that choose the ring hash (none: the 5-tuple); at most one is set. */
#define JL_VIP_F_HASH_MASK                                                                         \
	(JL_VIP_F_SOURCE_AFFINITY | JL_VIP_F_HASH_NO_SOURCE_PORT | JL_VIP_F_HASH_DESTINATION_PORT)

/* jl_backend.flags */
enum jl_backend_flags {
	/* Established flows to this backend keep it (set while up or draining,
	 * clear while down): a flow whose backend lost this flag is re-picked. */
	JL_BACKEND_F_KEEP_FLOWS = 1u << 0,
};

/* Key of jl_vips and jl_frag_vips. */
struct jl_vip_key {
	__u32 addr[4]; /* IPv4: addr[0], addr[1..3] = 0 */
	__u16 port;    /* 0 = every port (jl_frag_vips: always 0) */
	__u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;   /* enum jl_family */
	__u32 side;    /* 0 or 1 */
};

/* Value of jl_vips: one service. */
struct jl_vip {
	__u32 service_id;      /* index into jl_service_stats */
	__u32 ring_offset;     /* first slot of this service's ring within its side */
	__u32 ring_size;       /* M (prime); 0 = no usable backend: drop, counted */
	__u16 flags;           /* enum jl_vip_flags */
	__u8 mode;             /* enum jl_mode */
	__u8 outer_ttl;        /* TTL / hop limit of an outer header */
	__u16 gue_port;        /* destination port of GUE (network order) */
	__u16 mtu;             /* largest packet sent on; larger -> ICMP too big */
	__u32 src4;            /* outer IPv4 source address */
	__u32 src6[4];         /* outer IPv6 source address */
	__u8 src_entropy_bits; /* low bits of the outer source replaced by flow hash bits (0-16) */
	__u8 pad[3];
	__u32 udp_idle_timeout_ms; /* UDP: an entry idle longer expires; 0 = never */
};

/* Value of jl_backends, indexed by side * max_backends + backend_id. A backend id
 * names one backend of one service and is stable across generations. */
struct jl_backend {
	__u32 addr[4];    /* IPv4: addr[0]; where l2 mode has no use for it */
	__u32 service_id; /* the service this id belongs to */
	__u32 ifindex;    /* egress device; 0 = the receiving device (XDP_TX) */
	__u8 family;      /* enum jl_family; 0 = empty slot */
	__u8 flags;       /* enum jl_backend_flags */
	__u8 dst_mac[6];  /* backend (l2) or next hop (encapsulation) */
	__u8 src_mac[6];  /* our address on the egress device; zero = keep the received dst */
	__u8 pad[2];
};

/* Key of jl_flows (the connection table): the flow as the client sent it. */
struct jl_flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

/* jl_flow.flags */
enum jl_flow_flags {
	JL_FLOW_F_FIN = 1u << 0, /* TCP: the client sent a FIN; time_ns ends the linger */
	JL_FLOW_F_RST = 1u << 1, /* TCP: the client sent an RST; time_ns ends the linger */
};

/* Value of jl_flows. */
struct jl_flow {
	__u32 backend_id;
	__u32 service_id;
	/* CLOCK_MONOTONIC_COARSE (bpf_ktime_get_coarse_ns). UDP: when the flow was last seen (refreshed at most
	 * every JL_UDP_REFRESH_NS). TCP with JL_FLOW_F_FIN or JL_FLOW_F_RST: the end of
	 * the linger, after which the entry counts as absent. Otherwise 0. */
	__u64 time_ns;
	__u32 flags; /* enum jl_flow_flags */
	__u32 pad;
};

/*
 * jl_vip_filter: a bitmap in front of the VIP lookups, so that traffic for other
 * addresses passes without a hash lookup. Per side JL_VIP_FILTER_WORDS words of 64
 * bits; an address selects one word (jl_vip_filter_index) and one of its bits 1..63
 * (jl_vip_filter_mask). Bit 0 says the word was written. For side s the control
 * plane writes EVERY word of s with bit 0 set, plus the bit of every address that has
 * a key in jl_vips or jl_frag_vips on s (extra bits only cost a lookup). A word with
 * bit 0 clear (never written) lets every address through to the lookups: an
 * unwritten filter costs speed, never correctness.
 */
#define JL_VIP_FILTER_WORD_BITS 10
#define JL_VIP_FILTER_WORDS (1u << JL_VIP_FILTER_WORD_BITS) /* per side */
#define JL_VIP_FILTER_WRITTEN 1ull                          /* bit 0 of every word */

/* Mixes the address as it lies in memory (network order; IPv4: addr[1..3] = 0). */
static inline __u32 jl_vip_filter_hash(const __u32 *addr)
{
	return (addr[0] ^ addr[1] ^ addr[2] ^ addr[3]) * 0x9e3779b1u;
}

static inline __u32 jl_vip_filter_index(const __u32 *addr, __u32 side)
{
	return side * JL_VIP_FILTER_WORDS +
	       (jl_vip_filter_hash(addr) >> (32 - JL_VIP_FILTER_WORD_BITS));
}

static inline __u64 jl_vip_filter_mask(const __u32 *addr)
{
	__u32 bit = (jl_vip_filter_hash(addr) >> 8) & 63;

	return 1ull << (bit ? bit : 1);
}

/* Value of jl_settings[side]: forwarder-wide settings of the generation on that side.
 * Written with the side's catalogue tables, so the jl_active flip makes them live
 * together with it. All zero (a side never written) turns every setting off. */
struct jl_settings {
	__u32 flood_new_flow_rate; /* jl_flows writes per second per CPU; 0 = no limit */
	__u32 icmp_answer_rate;    /* ICMP answers per second per CPU; 0 = no limit */
};

/* Value of jl_flood_window[0], one per CPU: the current one-second window. */
struct jl_flood_window {
	__u64 start_ns;   /* bpf_ktime_get_coarse_ns() when the window opened */
	__u64 remembered; /* jl_flows writes admitted in it */
};

/* Value of jl_icmp_window[0], one per CPU: the ICMP answers of the current second. */
struct jl_icmp_window {
	__u64 start_ns; /* bpf_ktime_get_coarse_ns() when the window opened */
	__u64 sent;     /* answers sent in it */
};

/* Value of jl_meta[0]: written once at load, read by a daemon adopting pins. */
struct jl_meta {
	__u32 abi_version;
	__u32 max_services;
	__u32 max_backends;
	__u32 ring_capacity;
	__u32 max_flows;
	__u32 pad;
};

/* Per-CPU counters, summed by the control plane at scrape time. */
struct jl_traffic {
	__u64 packets;
	__u64 bytes;
};

struct jl_service_traffic {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;   /* connection table writes, but for those of nonsyn_miss */
	__u64 nonsyn_miss; /* TCP packets (no SYN-only, FIN or RST) that found no entry */
};

struct jl_backend_traffic {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows; /* connection table writes that name this backend, as the service's */
};

/*
 * Every verdict of the forwarder has exactly one counter. X(name, verdict, label):
 * `verdict` is pass, drop, tx or redirect; `label` is the metrics label value.
 */
#define JL_COUNTERS(X)                                                                                     \
	X(PASS_NOT_IP, pass, "not_ip")     /* ARP, LLDP, ... */                                            \
	X(PASS_NOT_VIP, pass, "not_vip")   /* no service at that address/port/protocol */                  \
	X(PASS_UNPARSED, pass, "unparsed") /* truncated/malformed, not for a VIP */                        \
	X(PASS_ICMP_NOT_FLOW, pass,                                                                        \
	  "icmp_not_flow")                     /* ICMP to a VIP address that quotes no VIP flow */         \
	X(DROP_MALFORMED, drop, "malformed")   /* for a VIP address, cannot be parsed */                   \
	X(DROP_NO_BACKEND, drop, "no_backend") /* the service has no usable backend */                     \
	X(DROP_TOO_BIG, drop,                                                                              \
	  "too_big") /* over the MTU and may not be answered (DF clear, or a source ICMP never answers) */ \
	X(DROP_ICMP_RATE, drop,                                                                            \
	  "icmp_rate_limited") /* over the MTU, and this CPU's ICMP answers for this second are spent */   \
	X(DROP_TTL_EXPIRED, drop, "ttl_expired") /* TTL / hop limit would reach 0 */                       \
	X(DROP_HEADROOM, drop, "headroom")       /* bpf_xdp_adjust_head/tail failed */                     \
	X(DROP_BAD_BACKEND, drop, "bad_backend") /* ring slot names an empty or foreign backend */         \
	X(DROP_ECHO_RATE, drop,                                                                            \
	  "echo_rate_limited") /* ping of a VIP that answers it, over this CPU's ICMP answer rate */       \
	X(DROP_ECHO_INVALID, drop,                                                                         \
	  "echo_invalid") /* such a ping with a bad checksum or from a source ICMP never answers */        \
	X(TX_FORWARD, tx, "forward") /* to a backend, back out the same device */                          \
	X(TX_FORWARD_FLOOD, tx,                                                                            \
	  "forward_flood") /* the same, new flow not remembered: over the flood rate */                    \
	X(TX_ICMP_TOO_BIG, tx,                                                                             \
	  "icmp_too_big") /* ICMP frag-needed / packet-too-big to the client */                            \
	X(TX_ICMP_ERROR, tx,                                                                               \
	  "icmp_error") /* ICMP error quoting a VIP flow, sent to its backend */                           \
	X(TX_ECHO_REPLY, tx, "echo_reply") /* echo reply to a ping of a VIP that answers it */             \
	X(REDIRECT_FORWARD, redirect, "forward") /* to a backend, out another device */                    \
	X(REDIRECT_FORWARD_FLOOD, redirect,                                                                \
	  "forward_flood") /* the same, new flow not remembered */                                         \
	X(REDIRECT_ICMP_ERROR, redirect,                                                                   \
	  "icmp_error") /* ICMP error quoting a VIP flow, out another device */

enum jl_counter {
#define JL_COUNTER_ENUM(name, verdict, label) JL_CNT_##name,
	JL_COUNTERS(JL_COUNTER_ENUM)
#undef JL_COUNTER_ENUM
	        JL_CNT_COUNT
};

/*
 * Maps of julier_lb.bpf.c (names are part of the ABI; sizes set at load time):
 *   jl_active         ARRAY[1] of __u32: the generation now live; side = gen & 1
 *   jl_meta           ARRAY[1] of struct jl_meta
 *   jl_vips           HASH struct jl_vip_key -> struct jl_vip      (JL_SIDES * max_services)
 *   jl_frag_vips      HASH struct jl_vip_key (port 0) -> struct jl_vip: the service
 *                     that takes IPv4/IPv6 fragments for an address and protocol
 *   jl_rings          ARRAY of __u32 backend ids                   (JL_SIDES * ring_capacity)
 *   jl_backends       ARRAY of struct jl_backend                   (JL_SIDES * max_backends)
 *   jl_flows          LRU_HASH struct jl_flow_key -> struct jl_flow (max_flows)
 *   jl_service_stats  PERCPU_ARRAY of struct jl_service_traffic    (max_services)
 *   jl_backend_stats  PERCPU_ARRAY of struct jl_backend_traffic    (max_backends)
 *   jl_counters       PERCPU_ARRAY of struct jl_traffic            (JL_CNT_COUNT)
 *   jl_vip_filter     ARRAY of __u64 (JL_SIDES * JL_VIP_FILTER_WORDS): see above
 *   jl_settings       ARRAY of struct jl_settings                  (JL_SIDES)
 *   jl_flood_window   PERCPU_ARRAY[1] of struct jl_flood_window
 *   jl_icmp_window    PERCPU_ARRAY[1] of struct jl_icmp_window
 * Read-only config (.rodata, set before load): jl_cfg_max_backends, jl_cfg_ring_capacity.
 */

/* Pinned objects live under this directory (one bpffs subdirectory). */
#define JL_PIN_DIR "/sys/fs/bpf/julier"

/* ------------------------------------------------------------------------------
 * The decapsulator (julier_decap.bpf.c), run on backends: strips the IPIP, IPv6 and
 * GUE headers the forwarder adds, so the kernel sees the inner packet. It strips a
 * tunnel packet only when its outer destination is one of the local addresses
 * (jl_decap_addrs) AND its outer source lies in an allowed prefix (jl_decap_sources):
 * the balancers' encapsulation sources, as prefixes because encap_source.entropy_bits
 * replaces the low bits of the outer source. Anyone else could otherwise slip a packet
 * with any inner source past the backend's source filters. A tunnel packet to a
 * local address from any other source is dropped (counter `source`). Until both sets
 * are written (jl_decap_cfg.local_addrs and .sources non-zero; the all-zero
 * configuration of a bare `ip link ... obj` attach) nothing is decapsulated: tunnel
 * packets pass untouched to the kernel (counter `unconfigured`), as if no program
 * ran. The loader is julier-decap (control/decap/).
 * ------------------------------------------------------------------------------ */

#define JL_DECAP_MAX_ADDRS 64u    /* local tunnel endpoint addresses */
#define JL_DECAP_MAX_SOURCES 256u /* allowed outer source prefixes */

/* Default pin directory of julier-decap (one bpffs subdirectory per attached interface). */
#define JL_DECAP_PIN_DIR "/sys/fs/bpf/julier-decap"

/* Key of jl_decap_addrs: one local tunnel endpoint address (value: __u32, unused). */
struct jl_decap_addr {
	__u32 addr[4]; /* IPv4: addr[0], addr[1..3] = 0 */
	__u8 family;   /* enum jl_family */
	__u8 pad[3];
};

/*
 * Key of jl_decap_sources (an LPM trie; value: __u32, unused): one allowed outer
 * source prefix. The trie compares family, pad and addr as one bit string, so
 * prefixlen = JL_DECAP_SOURCE_KEY_BITS + the prefix length of the address; a lookup
 * uses the full length of its family. Both families share the trie and never match
 * each other, because the family byte is part of every prefix.
 */
struct jl_decap_source {
	__u32 prefixlen; /* JL_DECAP_SOURCE_KEY_BITS + 0..32 (IPv4) or 0..128 (IPv6) */
	__u8 family;     /* enum jl_family */
	__u8 pad[3];     /* zero */
	__u32 addr[4];   /* network order; IPv4: addr[0], addr[1..3] = 0; host bits zero */
};

#define JL_DECAP_SOURCE_KEY_BITS 32u /* family and pad, in front of the address */

/* Value of jl_decap_cfg[0]. All zero decapsulates nothing (see above). */
struct jl_decap_cfg {
	__u16 gue_port; /* UDP destination port of GUE, network order; 0 = JL_DEFAULT_GUE_PORT */
	__u16 pad;
	__u32 local_addrs; /* entries in jl_decap_addrs; 0: decapsulate nothing */
	__u32 sources;     /* entries in jl_decap_sources; 0: decapsulate nothing */
	__u32 peers;       /* entries in jl_decap_peers; 0: forward no second chance */
};

/*
 * Second chance (docs/fleet.md, "Second chance"). A balancer that sends a TCP packet
 * without SYN which missed its connection table may name a second candidate: the
 * backend the previous ring generation would have picked. It does so in GUE variant
 * 0 only, as private data in the header's optional-field area: hlen =
 * JL_GUE_SC_BYTES / 4, standard flags 0, and struct jl_gue_sc right after the 4-byte
 * GUE header. Linux's GUE receiver (fou) skips hlen words it has no flag for, so a
 * backend that decapsulates with the kernel still takes the packet (and ignores the
 * candidate); julier_decap before this format passes such packets to the kernel
 * unstripped (counter `malformed`).
 *
 * The receiving julier_decap forwards the packet to the candidate, instead of
 * decapsulating it, when all of these hold: the packet is TCP without SYN; the
 * candidate lies in jl_decap_peers; the kernel has no socket for the inner 4-tuple
 * (no established, SYN-received or TIME-WAIT socket, and no listener that would
 * complete a SYN-cookie handshake with it); hops is not 0, the outer TTL / hop
 * limit above 1, and the candidate not the address the packet came to. It rewrites the outer header in place: source = the local address
 * the packet arrived at, destination = the candidate, TTL / hop limit minus one,
 * hops minus one, MAC addresses from bpf_fib_lookup; the candidate stays in the
 * header. Everything else is decapsulated as if the field were absent.
 */
#define JL_GUE_SC_TYPE 0x4a43u /* "JC": julier's candidate, first 2 bytes of the field */
#define JL_GUE_SC_BYTES 20u    /* sizeof(struct jl_gue_sc): hlen 5 */
#define JL_GUE_SC_HOPS 1u      /* hops a balancer writes: one forward, then decapsulate */

struct jl_gue_sc {
	__u16 type;    /* JL_GUE_SC_TYPE, network order */
	__u8 family;   /* enum jl_family of addr */
	__u8 hops;     /* forwards left; 0: decapsulate wherever it arrives */
	__u32 addr[4]; /* the second candidate, network order; IPv4: addr[0], addr[1..3] = 0 */
};

#define JL_DECAP_MAX_PEERS 256u /* backend prefixes a second chance may be forwarded to */

/* Every result of the decapsulator has exactly one counter. X(name, verdict, label). */
#define JL_DECAP_COUNTERS(X)                                                                       \
	X(DECAP_IPIP, pass, "ipip")                /* IPv4 in IPv4 */                              \
	X(DECAP_IP6IP6, pass, "ip6ip6")            /* IPv6 in IPv6 */                              \
	X(DECAP_IP4IN6, pass, "ip4in6")            /* IPv4 in IPv6 */                              \
	X(DECAP_GUE, pass, "gue")                  /* GUE variant 0 (private data skipped) */      \
	X(DECAP_GUE_DIRECT, pass, "gue_direct")    /* GUE variant 1 (IP right after UDP) */        \
	X(PASS_NOT_TUNNEL, pass, "not_tunnel")     /* not IP, or no tunnel protocol/port */        \
	X(PASS_UNCONFIGURED, pass, "unconfigured") /* tunnel, but no sources or addresses set */   \
	X(PASS_NOT_LOCAL, pass, "not_local")       /* outer destination not in jl_decap_addrs */   \
	X(PASS_FRAGMENT, pass, "fragment")         /* a fragment (never reassembled here) */       \
	X(PASS_MALFORMED, pass, "malformed") /* truncated/inconsistent, or GUE it does not take */ \
	X(DROP_SOURCE, drop, "source")       /* to a local address from no allowed source */       \
	X(DROP_ECN, drop, "ecn")             /* outer CE on a Not-ECT inner packet (RFC 6040) */   \
	X(DECAP_SC_KEPT, pass,                                                                     \
	  "second_chance_kept") /* names a candidate, TCP without SYN, and a socket is here */     \
	X(DECAP_SC_HOP_LIMIT, pass,                                                                \
	  "second_chance_hop_limit") /* no socket, but hops (or outer TTL) spent or self */        \
	X(DECAP_SC_NOT_PEER, pass,                                                                 \
	  "second_chance_not_peer") /* no socket, candidate not in jl_decap_peers (or family) */   \
	X(DECAP_SC_FIB, pass,                                                                      \
	  "second_chance_fib_failed") /* no socket, no route/neighbour to the candidate */         \
	X(TX_SECOND_CHANCE, tx, "second_chance_tx") /* forwarded to the candidate, same device */  \
	X(REDIRECT_SECOND_CHANCE, redirect,                                                        \
	  "second_chance_redirect") /* forwarded to the candidate, out another device */

enum jl_decap_counter {
#define JL_DECAP_COUNTER_ENUM(name, verdict, label) JL_DECAP_CNT_##name,
	JL_DECAP_COUNTERS(JL_DECAP_COUNTER_ENUM)
#undef JL_DECAP_COUNTER_ENUM
	        JL_DECAP_CNT_COUNT
};

/*
 * Maps of julier_decap.bpf.c (julier-decap pins each under its pin directory by name,
 * and the program as "prog"):
 *   jl_decap_addrs     HASH struct jl_decap_addr -> __u32        (JL_DECAP_MAX_ADDRS)
 *   jl_decap_sources   LPM_TRIE struct jl_decap_source -> __u32  (JL_DECAP_MAX_SOURCES)
 *   jl_decap_peers     LPM_TRIE struct jl_decap_source -> __u32  (JL_DECAP_MAX_PEERS):
 *                      the backend prefixes a second chance may be forwarded to
 *   jl_decap_cfg       ARRAY[1] of struct jl_decap_cfg
 *   jl_decap_counters  PERCPU_ARRAY of struct jl_traffic         (JL_DECAP_CNT_COUNT)
 */

#endif /* JULIER_ABI_H */
