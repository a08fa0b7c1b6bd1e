/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/* Includes and small definitions every datapath header needs. */
#ifndef JULIER_LIB_COMMON_H
#define JULIER_LIB_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <julier/abi.h>

/* The fast paths are one straight function after inlining: no call overhead. */
#define JL_INLINE static __always_inline

/*
 * Count one verdict in a PERCPU_ARRAY of struct jl_traffic and hand the action back,
 * so a return site reads `return jl_count_verdict(...)`. The forwarder (jl_verdict)
 * and the decapsulator each pass their own counters map.
 */
JL_INLINE int jl_count_verdict(void *counters, __u32 counter, __u64 bytes, int action)
{
	struct jl_traffic *t = bpf_map_lookup_elem(counters, &counter);

	if (t) {
		t->packets++;
		t->bytes += bytes;
	}
	return action;
}

#define jl_likely(x) __builtin_expect(!!(x), 1)
#define jl_unlikely(x) __builtin_expect(!!(x), 0)

#define JL_ETH_P_8021Q 0x8100
#define JL_ETH_P_8021AD 0x88a8

/* Word views of header bytes. Checksums read back words just written through
 * header fields of other types; without may_alias the compiler may drop or move
 * those stores (type-based alias analysis). */
typedef __u32 __attribute__((__may_alias__)) jl_word32;
typedef __u16 __attribute__((__may_alias__)) jl_word16;

/* 802.1Q tag as it follows the MAC addresses. */
struct jl_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* IPv6 extension header prefix shared by hop-by-hop, routing and dest-opts. */
struct jl_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-byte units, not counting the first 8 bytes */
};

struct jl_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 identification;
};

/* ICMP (RFC 792) as used here; <linux/icmp.h> drags in socket headers. */
struct jl_icmphdr {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be16 unused;
	__be16 mtu; /* destination unreachable / fragmentation needed (RFC 1191) */
};

#define JL_ICMP_DEST_UNREACH 3
#define JL_ICMP_FRAG_NEEDED 4
#define JL_ICMP_TIME_EXCEEDED 11
#define JL_ICMP_PARAMETERPROB 12
#define JL_ICMP_ECHOREPLY 0
#define JL_ICMP_ECHO 8

/* Ports sit at the same place in TCP and UDP. */
struct jl_ports {
	__be16 source;
	__be16 dest;
};

/* Largest linear frame XDP hands to a program without multi-buffer (one page). */
#define JL_MAX_FRAME_BYTES 4096u

#endif /* JULIER_LIB_COMMON_H */
