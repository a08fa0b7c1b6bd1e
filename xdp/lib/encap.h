/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Encapsulation: IPIP (RFC 2003), IPv6 in IPv6 and IPv4 in IPv6 (RFC 2473), and GUE
 * variant 0 (draft-ietf-intarea-gue) over IPv4 or IPv6. The frame keeps its
 * Ethernet header (and 802.1Q tag) in front of the new outer IP header.
 *
 * Outer header (docs/forwarder.md, "Encapsulation"): source from the service with
 * its low src_entropy_bits replaced by flow hash bits, destination the backend,
 * TTL/hop limit outer_ttl, DSCP and ECN copied from the inner header (RFC 2983
 * uniform model, RFC 6040 normal mode); IPv4: DF, id 0; IPv6: flow label from the
 * flow hash. The inner packet is forwarded, so its TTL/hop limit drops by one.
 */
#ifndef JULIER_LIB_ENCAP_H
#define JULIER_LIB_ENCAP_H

#include "lib/common.h"
#include "lib/csum.h"
#include "lib/l2.h"
#include "lib/parse.h"

#define JL_FLOW_LABEL_MASK 0xfffffu
#define JL_MAX_ENTROPY_BITS 16

/* Bytes the mode puts in front of the inner IP packet, or -1 if the mode cannot
 * carry this inner family to a backend of this family. */
JL_INLINE int jl_encap_overhead(__u8 mode, __u8 inner_family, __u8 outer_family)
{
	switch (mode) {
	case JL_MODE_IPIP:
		if (inner_family == JL_FAMILY_V4 && outer_family == JL_FAMILY_V4)
			return sizeof(struct iphdr);
		return -1;
	case JL_MODE_IP6IP6:
		if (inner_family == JL_FAMILY_V6 && outer_family == JL_FAMILY_V6)
			return sizeof(struct ipv6hdr);
		return -1;
	case JL_MODE_IP4IN6:
		if (inner_family == JL_FAMILY_V4 && outer_family == JL_FAMILY_V6)
			return sizeof(struct ipv6hdr);
		return -1;
	case JL_MODE_GUE:
		if (outer_family == JL_FAMILY_V4)
			return sizeof(struct iphdr) + sizeof(struct udphdr) + JL_GUE_HEADER_BYTES;
		if (outer_family == JL_FAMILY_V6)
			return sizeof(struct ipv6hdr) + sizeof(struct udphdr) + JL_GUE_HEADER_BYTES;
		return -1;
	default:
		return -1;
	}
}

/* base with its low `bits` bits (host order) replaced by the hash's low bits. */
JL_INLINE __be32 jl_with_entropy(__be32 base, __u8 bits, __u32 hash)
{
	__u32 mask;

	if (bits == 0)
		return base;
	if (bits > JL_MAX_ENTROPY_BITS)
		bits = JL_MAX_ENTROPY_BITS;
	mask = (1u << bits) - 1;
	return bpf_htonl((bpf_ntohl(base) & ~mask) | (hash & mask));
}

/* The inner packet is forwarded: TTL / hop limit minus one (caller checked > 1). */
JL_INLINE int jl_inner_ttl_dec(struct xdp_md *ctx, const struct jl_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 l3 = pkt->vlan ? ETH_HLEN + sizeof(struct jl_vlan_hdr) : ETH_HLEN;

	if (pkt->flow.family == JL_FAMILY_V4) {
		struct iphdr *ip = data + l3;
		__u16 from, to;

		if ((void *)(ip + 1) > end)
			return -1;
		from = *(jl_word16 *)&ip->ttl; /* the checksummed word: TTL, protocol */
		ip->ttl--;
		to = *(jl_word16 *)&ip->ttl;
		ip->check = jl_csum_replace16(ip->check, from, to);
		return 0;
	}
	{
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > end)
			return -1;
		ip6->hop_limit--;
	}
	return 0;
}

/*
 * Sum of the inner IP packet at inner_off, for the outer UDP checksum. For a whole
 * TCP or UDP packet with a checksum this is local checksum offload arithmetic (as
 * in Linux's lco_csum): a valid transport checksum makes the segment sum to the
 * complement of its pseudo-header sum, and an IPv4 header sums to zero, so no
 * payload byte is read. Fragments, ICMP, UDP without a checksum and
 * IPv6 with extension headers are summed byte by byte.
 */
JL_INLINE __u32 jl_inner_sum(struct xdp_md *ctx, const struct jl_pkt *pkt, __u32 inner_off)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 hdr_len = pkt->l4_off - pkt->l3_off;
	__u32 l4_len = pkt->ip_len - hdr_len;
	int lco = !pkt->frag && (pkt->l4_proto == IPPROTO_TCP || pkt->l4_proto == IPPROTO_UDP);

	if (inner_off > JL_MAX_FRAME_BYTES || hdr_len > JL_MAX_FRAME_BYTES)
		return JL_CSUM_ERR;
	if (lco && pkt->flow.family == JL_FAMILY_V6 && hdr_len != sizeof(struct ipv6hdr))
		lco = 0;
	if (lco && pkt->l4_proto == IPPROTO_UDP) {
		struct udphdr *udp = data + inner_off + hdr_len;

		if ((void *)(udp + 1) > end)
			return JL_CSUM_ERR;
		if (udp->check == 0) /* IPv4 "no checksum" */
			lco = 0;
	}
	if (!lco)
		return jl_csum_frame(ctx, inner_off, pkt->ip_len);

	if (pkt->flow.family == JL_FAMILY_V4) {
		struct iphdr *ip = data + inner_off;
		__u64 pseudo;

		if ((void *)(ip + 1) > end)
			return JL_CSUM_ERR;
		pseudo =
		        (__u64)ip->saddr + ip->daddr + bpf_htons(pkt->l4_proto) + bpf_htons(l4_len);
		return (__u16)~jl_csum_fold(pseudo);
	}
	{
		struct ipv6hdr *ip6 = data + inner_off;
		__u64 addrs, pseudo;

		if ((void *)(ip6 + 1) > end)
			return JL_CSUM_ERR;
		addrs = jl_csum_words(&ip6->saddr, 8);
		pseudo = addrs + bpf_htons(pkt->l4_proto) + bpf_htons(l4_len);
		return jl_csum_fold(jl_csum_words(ip6, 2) + addrs + (__u16)~jl_csum_fold(pseudo));
	}
}

JL_INLINE void jl_write_outer4(struct iphdr *ip, __u8 tos, __u32 tot_len, __u8 ttl, __u8 proto,
                               __be32 saddr, __be32 daddr)
{
	*(__u8 *)ip = 0x45; /* version 4, 5 words */
	ip->tos = tos;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = bpf_htons(JL_IP_DF);
	ip->ttl = ttl;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = jl_csum_finish(jl_csum_words(ip, 5));
}

JL_INLINE void jl_write_outer6(struct ipv6hdr *ip6, __u8 tclass, __u32 hash, __u32 payload_len,
                               __u8 nexthdr, __u8 hop_limit, const __u32 *saddr, const __u32 *daddr)
{
	*(jl_word32 *)ip6 = bpf_htonl(6u << 28 | (__u32)tclass << 20 | (hash & JL_FLOW_LABEL_MASK));
	ip6->payload_len = bpf_htons(payload_len);
	ip6->nexthdr = nexthdr;
	ip6->hop_limit = hop_limit;
	__builtin_memcpy(&ip6->saddr, saddr, 16);
	__builtin_memcpy(&ip6->daddr, daddr, 16);
}

/*
 * Put the outer headers in front of the packet for a backend of the right family
 * (the caller checked it with jl_encap_overhead and that TTL > 1).
 * Returns 0, or -1 if the headroom could not be grown or the frame is inconsistent.
 */
JL_INLINE int jl_encapsulate(struct xdp_md *ctx, const struct jl_pkt *pkt, const struct jl_vip *vip,
                             const struct jl_backend *be, __u32 hash, __u32 overhead)
{
	__u32 l3 = pkt->vlan ? ETH_HLEN + sizeof(struct jl_vlan_hdr) : ETH_HLEN;
	__u32 inner_len = pkt->ip_len;
	int gue = vip->mode == JL_MODE_GUE;
	__u8 inner_proto = pkt->flow.family == JL_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	__u8 outer_proto = gue ? IPPROTO_UDP : inner_proto;
	__u8 received_dst[ETH_ALEN];
	struct ethhdr *eth, *old;
	void *data, *end, *l4;
	__be16 vlan_tci = 0;
	__u32 udp_off;

	if (overhead > 64)
		return -1;
	if (jl_inner_ttl_dec(ctx, pkt))
		return -1;
	/* Ethernet padding after a short packet would end up inside the tunnel frame,
	 * after the outer packet: cut it. */
	if (pkt->frame_len > l3 + inner_len &&
	    bpf_xdp_adjust_tail(ctx, (int)(l3 + inner_len) - (int)pkt->frame_len))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;

	/* Ethernet (and tag) move to the front; the old copy is overwritten below. */
	eth = data;
	old = data + overhead;
	if ((void *)(old + 1) + sizeof(struct jl_vlan_hdr) > end)
		return -1;
	__builtin_memcpy(received_dst, old->h_dest, ETH_ALEN);
	if (pkt->vlan)
		vlan_tci = ((struct jl_vlan_hdr *)(old + 1))->tci;
	jl_set_macs(eth, be, received_dst);
	if (pkt->vlan) {
		struct jl_vlan_hdr *vh = (void *)(eth + 1);

		eth->h_proto = bpf_htons(JL_ETH_P_8021Q);
		vh->tci = vlan_tci;
		vh->proto = bpf_htons(be->family == JL_FAMILY_V4 ? ETH_P_IP : ETH_P_IPV6);
	} else {
		eth->h_proto = bpf_htons(be->family == JL_FAMILY_V4 ? ETH_P_IP : ETH_P_IPV6);
	}

	if (be->family == JL_FAMILY_V4) {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > end)
			return -1;
		jl_write_outer4(ip, pkt->tos, inner_len + overhead, vip->outer_ttl, outer_proto,
		                jl_with_entropy(vip->src4, vip->src_entropy_bits, hash),
		                be->addr[0]);
		udp_off = l3 + sizeof(*ip);
	} else {
		struct ipv6hdr *ip6 = data + l3;
		__u32 saddr[4];

		if ((void *)(ip6 + 1) > end)
			return -1;
		__builtin_memcpy(saddr, vip->src6, sizeof(saddr));
		saddr[3] = jl_with_entropy(saddr[3], vip->src_entropy_bits, hash);
		jl_write_outer6(ip6, pkt->tos, hash, inner_len + overhead - sizeof(*ip6),
		                outer_proto, vip->outer_ttl, saddr, be->addr);
		udp_off = l3 + sizeof(*ip6);
	}
	if (!gue)
		return 0;

	{
		struct udphdr *udp;
		__u32 udp_len = inner_len + sizeof(*udp) + JL_GUE_HEADER_BYTES;
		__u32 inner_sum;
		__u64 sum;
		__u16 check;

		l4 = data + udp_off;
		udp = l4;
		if (l4 + sizeof(*udp) + JL_GUE_HEADER_BYTES > end)
			return -1;
		udp->source = bpf_htons(JL_GUE_SPORT_MIN + (hash & JL_GUE_SPORT_MASK));
		udp->dest = vip->gue_port; /* network order, like every port in abi.h */
		udp->len = bpf_htons(udp_len);
		udp->check = 0;
		/* GUE variant 0: version 0, C 0, hlen 0, proto/ctype, flags 0. */
		*(jl_word32 *)(udp + 1) = bpf_htonl((__u32)inner_proto << 16);

		inner_sum = jl_inner_sum(ctx, pkt, udp_off + sizeof(*udp) + JL_GUE_HEADER_BYTES);
		if (inner_sum == JL_CSUM_ERR)
			return -1;

		/* Packet pointers are re-derived after the call. */
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		l4 = data + udp_off;
		udp = l4;
		if (l4 + sizeof(*udp) + JL_GUE_HEADER_BYTES > end)
			return -1;
		sum = inner_sum + jl_csum_words(l4, 3) + bpf_htons(IPPROTO_UDP) +
		      bpf_htons(udp_len);
		if (be->family == JL_FAMILY_V4) {
			struct iphdr *ip = data + l3;

			if ((void *)(ip + 1) > end)
				return -1;
			sum += jl_csum_words(&ip->saddr, 2);
		} else {
			struct ipv6hdr *ip6 = data + l3;

			if ((void *)(ip6 + 1) > end)
				return -1;
			sum += jl_csum_words(&ip6->saddr, 8);
		}
		check = jl_csum_finish(sum);
		udp->check = check ? check : 0xffff; /* 0 means "no checksum" (RFC 768) */
	}
	return 0;
}

#endif /* JULIER_LIB_ENCAP_H */
