/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * ECN across a tunnel header (RFC 6040): reading and writing the ECN field of IPv4
 * and IPv6 headers, and what the inner field becomes when an outer header is removed.
 */
#ifndef JULIER_LIB_TUNNEL_ECN_H
#define JULIER_LIB_TUNNEL_ECN_H

#include "lib/common.h"

#define JL_ECN_NOT_ECT 0
#define JL_ECN_ECT1 1
#define JL_ECN_ECT0 2
#define JL_ECN_CE 3
#define JL_ECN_MASK 3

/* Returned by jl_ecn_decapsulate when the packet must be dropped. */
#define JL_ECN_DROP -1

/*
 * RFC 6040 section 4.2: the inner ECN field after decapsulation. Congestion marked
 * on the outer header must reach the endpoint; an inner Not-ECT packet cannot carry
 * that mark, so it is dropped (the congestion signal ECN would have sent).
 */
JL_INLINE int jl_ecn_decapsulate(__u8 outer, __u8 inner)
{
	if (outer == JL_ECN_CE)
		return inner == JL_ECN_NOT_ECT ? JL_ECN_DROP : JL_ECN_CE;
	if (outer == JL_ECN_ECT1 && inner == JL_ECN_ECT0)
		return JL_ECN_ECT1;
	return inner;
}

JL_INLINE __u8 jl_ipv4_ecn(const struct iphdr *ip)
{
	return ip->tos & JL_ECN_MASK;
}

/* The traffic class straddles bytes 0 and 1; its ECN bits are bits 5..4 of byte 1. */
JL_INLINE __u8 jl_ipv6_ecn(const struct ipv6hdr *ip6)
{
	return (((const __u8 *)ip6)[1] >> 4) & JL_ECN_MASK;
}

/* Set the ECN bits of an IPv4 header, fixing its checksum incrementally (RFC 1624). */
JL_INLINE void jl_ipv4_set_ecn(struct iphdr *ip, __u8 ecn)
{
	__u16 *word = (__u16 *)ip; /* version/IHL and TOS */
	__u16 from = *word;
	__u32 sum;

	ip->tos = (ip->tos & ~JL_ECN_MASK) | ecn;
	sum = (__u16)~ip->check;
	sum += (__u16)~from;
	sum += *word;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
}

JL_INLINE void jl_ipv6_set_ecn(struct ipv6hdr *ip6, __u8 ecn)
{
	__u8 *b = (__u8 *)ip6;

	b[1] = (b[1] & ~(JL_ECN_MASK << 4)) | (ecn << 4);
}

#endif /* JULIER_LIB_TUNNEL_ECN_H */
