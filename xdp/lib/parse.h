/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Header parsing: Ethernet, at most one 802.1Q tag, IPv4 (with options) or IPv6
 * (with up to JL_MAX_IPV6_EXT_HEADERS extension headers), and the TCP/UDP ports.
 *
 * The result says how far the packet could be read, because the caller's rule
 * depends on it: a packet whose destination address (and protocol) is known but
 * whose headers are broken is dropped if that address is a VIP address, and passed
 * to the kernel otherwise (see docs/forwarder.md, "Parse failures").
 */
#ifndef JULIER_LIB_PARSE_H
#define JULIER_LIB_PARSE_H

#include "lib/common.h"

#define JL_IP_DF 0x4000
#define JL_IP_MF 0x2000
#define JL_IP_OFFSET 0x1fff
/* IPv6 fragment header: offset and M bits (a fragment that is not atomic). */
#define JL_IP6_FRAG_MASK 0xfff9

enum jl_parse_result {
	JL_PARSE_OK = 0,
	JL_PARSE_NOT_IP,       /* Ethernet frame that carries neither IPv4 nor IPv6 */
	JL_PARSE_UNREADABLE,   /* the destination address cannot be read (truncated, QinQ) */
	JL_PARSE_MALFORMED,    /* destination and protocol known, the rest is broken */
	JL_PARSE_MALFORMED_V6, /* IPv6 destination known, upper-layer protocol not */
};

/* What the datapath knows about one received packet. */
struct jl_pkt {
	struct jl_flow_key flow; /* as the client sent it; ports 0 if not TCP/UDP or a fragment */
	__u32 frame_len;         /* bytes received */
	__u16 l3_off;            /* IP header: 14, or 18 behind an 802.1Q tag */
	__u16 l4_off;            /* after IPv4 options / IPv6 extension headers */
	__u16 ip_len;            /* IPv4 total length, IPv6 40 + payload length */
	__u8 l4_proto;           /* this packet's transport protocol */
	__u8 tos;                /* IPv4 TOS / IPv6 traffic class: DSCP and ECN */
	__u8 ttl;                /* TTL / hop limit */
	__u8 frag;               /* a fragment: ports unknown */
	__u8 df;                 /* IPv4 don't-fragment */
	__u8 vlan;               /* one 802.1Q tag in front of the IP header */
	__u8 tcp_flags;          /* TCP: byte 13 of the header (CWR ... FIN); else 0 */
};

JL_INLINE int jl_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT;
}

/*
 * Walk IPv6 extension headers. On entry *off is the byte after the fixed header and
 * *nexthdr its next-header field; on success both describe the upper-layer header.
 * A fragment header of a real fragment ends the walk with *frag = 1 (what follows
 * is only in the first fragment); an atomic fragment (offset 0, M clear, RFC 6946)
 * is walked through. limit is one past the IP packet's last byte.
 * Returns 0, or -1 if the chain is truncated, overruns limit or is too deep.
 */
JL_INLINE int jl_ipv6_walk(void *data, void *end, __u32 *off, __u8 *nexthdr, __u32 limit,
                           __u8 *frag)
{
	__u32 o = *off;
	__u8 nh = *nexthdr;

#pragma unroll
	for (int i = 0; i < JL_MAX_IPV6_EXT_HEADERS; i++) {
		struct jl_ipv6_opt_hdr *h;

		if (!jl_ipv6_is_ext(nh))
			break;
		if (o > JL_MAX_FRAME_BYTES)
			return -1;
		h = data + o;
		if ((void *)h + 8 > end)
			return -1;
		if (nh == IPPROTO_FRAGMENT) {
			struct jl_ipv6_frag_hdr *fh = (void *)h;

			nh = fh->nexthdr;
			o += sizeof(*fh);
			if (o > limit)
				return -1;
			if (fh->frag_off & bpf_htons(JL_IP6_FRAG_MASK)) {
				*frag = 1;
				goto out;
			}
		} else {
			nh = h->nexthdr;
			o += ((__u32)h->hdrlen + 1) * 8;
			if (o > limit)
				return -1;
		}
	}
	if (jl_ipv6_is_ext(nh))
		return -1; /* deeper than JL_MAX_IPV6_EXT_HEADERS */
out:
	*off = o;
	*nexthdr = nh;
	return 0;
}

/* The transport header must be whole, inside the frame and inside the IP packet. */
JL_INLINE int jl_parse_l4(void *data, void *end, struct jl_pkt *pkt, __u32 l4_off, __u32 l4_len)
{
	struct jl_ports *ports;
	void *l4;

	if (l4_off > JL_MAX_FRAME_BYTES)
		return JL_PARSE_MALFORMED;
	l4 = data + l4_off;
	ports = l4;
	pkt->l4_off = l4_off;
	switch (pkt->l4_proto) {
	case IPPROTO_TCP:
		if (l4_len < sizeof(struct tcphdr) || l4 + sizeof(struct tcphdr) > end)
			return JL_PARSE_MALFORMED;
		pkt->tcp_flags = ((__u8 *)l4)[13];
		break;
	case IPPROTO_UDP:
		if (l4_len < sizeof(struct udphdr) || l4 + sizeof(struct udphdr) > end)
			return JL_PARSE_MALFORMED;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* ICMP and ICMPv6 share the 8-byte header layout. */
		if (l4_len < sizeof(struct jl_icmphdr) || l4 + sizeof(struct jl_icmphdr) > end)
			return JL_PARSE_MALFORMED;
		return JL_PARSE_OK;
	default:
		return JL_PARSE_OK;
	}
	pkt->flow.sport = ports->source;
	pkt->flow.dport = ports->dest;
	return JL_PARSE_OK;
}

JL_INLINE int jl_parse_ipv4(void *data, void *end, struct jl_pkt *pkt, __u32 l3)
{
	struct iphdr *ip = data + l3;
	__u32 hlen, tot;
	__u8 vihl;

	if ((void *)(ip + 1) > end)
		return JL_PARSE_UNREADABLE;
	pkt->flow.family = JL_FAMILY_V4;
	pkt->flow.src[0] = ip->saddr;
	pkt->flow.dst[0] = ip->daddr;
	pkt->flow.proto = pkt->l4_proto = ip->protocol;

	vihl = *(__u8 *)ip;
	hlen = (vihl & 0xf) * 4;
	tot = bpf_ntohs(ip->tot_len);
	if ((vihl >> 4) != 4 || hlen < sizeof(*ip) || tot < hlen || (void *)ip + tot > end)
		return JL_PARSE_MALFORMED;

	pkt->ip_len = tot;
	pkt->tos = ip->tos;
	pkt->ttl = ip->ttl;
	pkt->df = !!(ip->frag_off & bpf_htons(JL_IP_DF));
	if (ip->frag_off & bpf_htons(JL_IP_MF | JL_IP_OFFSET)) {
		pkt->frag = 1;
		pkt->l4_off = l3 + hlen;
		return JL_PARSE_OK;
	}
	return jl_parse_l4(data, end, pkt, l3 + hlen, tot - hlen);
}

JL_INLINE int jl_parse_ipv6(void *data, void *end, struct jl_pkt *pkt, __u32 l3)
{
	struct ipv6hdr *ip6 = data + l3;
	__u32 off, limit, plen;
	__u8 nh;

	if ((void *)(ip6 + 1) > end)
		return JL_PARSE_UNREADABLE;
	pkt->flow.family = JL_FAMILY_V6;
	__builtin_memcpy(pkt->flow.src, &ip6->saddr, sizeof(pkt->flow.src));
	__builtin_memcpy(pkt->flow.dst, &ip6->daddr, sizeof(pkt->flow.dst));

	plen = bpf_ntohs(ip6->payload_len);
	if ((*(__u8 *)ip6 >> 4) != 6 || (void *)(ip6 + 1) + plen > end)
		return JL_PARSE_MALFORMED_V6;

	pkt->ip_len = sizeof(*ip6) + plen;
	pkt->tos = (bpf_ntohs(*(jl_word16 *)ip6) >> 4) & 0xff;
	pkt->ttl = ip6->hop_limit;

	off = l3 + sizeof(*ip6);
	limit = off + plen;
	nh = ip6->nexthdr;
	if (jl_ipv6_walk(data, end, &off, &nh, limit, &pkt->frag))
		return JL_PARSE_MALFORMED_V6;
	pkt->flow.proto = pkt->l4_proto = nh;
	if (pkt->frag) {
		pkt->l4_off = off;
		return JL_PARSE_OK;
	}
	return jl_parse_l4(data, end, pkt, off, limit - off);
}

JL_INLINE int jl_parse(struct xdp_md *ctx, struct jl_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 l3 = ETH_HLEN;
	__be16 proto;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->frame_len = end - data;
	if ((void *)(eth + 1) > end)
		return JL_PARSE_UNREADABLE;
	proto = eth->h_proto;
	if (proto == bpf_htons(JL_ETH_P_8021Q)) {
		struct jl_vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > end)
			return JL_PARSE_UNREADABLE;
		proto = vh->proto;
		l3 += sizeof(*vh);
		pkt->vlan = 1;
		/* A second tag (QinQ) is not ours to parse. */
		if (proto == bpf_htons(JL_ETH_P_8021Q) || proto == bpf_htons(JL_ETH_P_8021AD))
			return JL_PARSE_UNREADABLE;
	} else if (proto == bpf_htons(JL_ETH_P_8021AD)) {
		return JL_PARSE_UNREADABLE;
	}
	pkt->l3_off = l3;

	if (proto == bpf_htons(ETH_P_IP))
		return jl_parse_ipv4(data, end, pkt, l3);
	if (proto == bpf_htons(ETH_P_IPV6))
		return jl_parse_ipv6(data, end, pkt, l3);
	return JL_PARSE_NOT_IP;
}

#endif /* JULIER_LIB_PARSE_H */
