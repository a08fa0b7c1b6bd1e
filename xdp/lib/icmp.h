/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * ICMP: answering a client whose packet would exceed the path MTU once
 * encapsulated (RFC 1191 frag-needed, RFC 8201 / RFC 4443 packet-too-big),
 * answering pings of a VIP (RFC 792 / RFC 4443 4.2 echo reply), and reading the
 * flow an ICMP error about a VIP flow quotes.
 */
#ifndef JULIER_LIB_ICMP_H
#define JULIER_LIB_ICMP_H

#include "lib/common.h"
#include "lib/csum.h"
#include "lib/encap.h"
#include "lib/maps.h"
#include "lib/rate.h"
#include "lib/parse.h"
#include "lib/stats.h"
#include "lib/tunnel_ecn.h"

#define JL_ICMP_TTL 64
/* Precedence "internetwork control", as routers send ICMP errors (RFC 1812 4.3.2.5). */
#define JL_ICMP4_TOS 0xc0
#define JL_ICMP_HLEN 8
/* RFC 792: the original IP header plus the first 8 bytes of its payload. */
#define JL_ICMP4_QUOTE_L4 8

/*
 * Whether a source may be sent an ICMP error at all: never to an unspecified,
 * loopback, multicast or broadcast source (RFC 1812 4.3.2.7, RFC 4443 2.4 (e)) -
 * such a packet reaching the balancer is spoofed or broken.
 */
JL_INLINE int jl_icmp_source_ok(const struct jl_flow_key *flow)
{
	if (flow->family == JL_FAMILY_V4) {
		__u32 a = bpf_ntohl(flow->src[0]);
		__u8 first = a >> 24;

		/* 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 and broadcast */
		return first != 0 && first != 127 && first < 224;
	}
	/* :: and ::1 */
	if (flow->src[0] == 0 && flow->src[1] == 0 && flow->src[2] == 0 &&
	    (flow->src[3] == 0 || flow->src[3] == bpf_htonl(1)))
		return 0;
	return (bpf_ntohl(flow->src[0]) >> 24) != 0xff; /* ff00::/8 multicast */
}

/*
 * Takes one answer from this CPU's budget for the current second (the side's
 * jl_settings.icmp_answer_rate; 0 = no limit). 1: send; 0: over the rate.
 */
JL_INLINE int jl_icmp_rate_admit(__u32 side)
{
	struct jl_settings *settings = bpf_map_lookup_elem(&jl_settings, &side);
	struct jl_icmp_window *w;
	__u32 zero = 0;

	if (!settings || settings->icmp_answer_rate == 0)
		return 1;
	w = bpf_map_lookup_elem(&jl_icmp_window, &zero);
	return !w || jl_window_admit(&w->start_ns, &w->sent, settings->icmp_answer_rate);
}

/*
 * Turn the frame into an ICMP error back to the client: Ethernet addresses swapped
 * (tag kept), new IP + ICMP header in front of the first quote_len bytes of the
 * original IP packet. The IP header is built by the caller through `ip`.
 * Returns the offset of the new IP header, or -1 if the frame could not be resized.
 */
JL_INLINE int jl_icmp_reframe(struct xdp_md *ctx, const struct jl_pkt *pkt, __u32 quote_len,
                              __u32 push, __be16 eth_proto)
{
	__u32 l3 = pkt->vlan ? ETH_HLEN + sizeof(struct jl_vlan_hdr) : ETH_HLEN;
	__u8 old_dst[ETH_ALEN], old_src[ETH_ALEN];
	int shrink = (int)(l3 + quote_len) - (int)pkt->frame_len;
	struct ethhdr *eth, *old;
	void *data, *end;
	__be16 tci = 0;

	if (shrink < 0 && bpf_xdp_adjust_tail(ctx, shrink))
		return -1;
	if (push > 64 || bpf_xdp_adjust_head(ctx, -(int)push))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	old = data + push;
	/* The quote may be shorter than a VLAN tag: ask for the tag's room only with one. */
	if ((void *)(old + 1) > end)
		return -1;
	__builtin_memcpy(old_dst, old->h_dest, ETH_ALEN);
	__builtin_memcpy(old_src, old->h_source, ETH_ALEN);
	if (pkt->vlan) {
		if ((void *)(old + 1) + sizeof(struct jl_vlan_hdr) > end)
			return -1;
		tci = ((struct jl_vlan_hdr *)(old + 1))->tci;
	}
	__builtin_memcpy(eth->h_dest, old_src, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old_dst, ETH_ALEN);
	if (pkt->vlan) {
		struct jl_vlan_hdr *vh = (void *)(eth + 1);

		eth->h_proto = bpf_htons(JL_ETH_P_8021Q);
		vh->tci = tci;
		vh->proto = eth_proto;
	} else {
		eth->h_proto = eth_proto;
	}
	return l3;
}

/*
 * IPv4: DF set -> ICMP destination unreachable / fragmentation needed with the
 * next-hop MTU, quoting the IP header and 8 bytes, from the VIP; DF clear -> drop
 * (the balancer does not fragment). Counted and returned as the verdict.
 */
__noinline int jl_icmp4_too_big(struct xdp_md *ctx, struct jl_pkt *pkt, __u32 mtu)
{
	__u32 hlen, quote, sum;
	struct jl_icmphdr *icmp;
	struct iphdr *ip;
	__be32 client, vip;
	__u64 bytes;
	void *data, *end;
	int l3;

	if (!pkt)
		return XDP_ABORTED;
	bytes = pkt->frame_len;
	if (!pkt->df)
		return jl_verdict(JL_CNT_DROP_TOO_BIG, bytes, XDP_DROP);
	client = pkt->flow.src[0];
	vip = pkt->flow.dst[0];
	hlen = pkt->l4_off - pkt->l3_off;
	quote = hlen + JL_ICMP4_QUOTE_L4;
	if (quote > pkt->ip_len)
		quote = pkt->ip_len;
	if (quote > 60 + JL_ICMP4_QUOTE_L4)
		return jl_verdict(JL_CNT_DROP_MALFORMED, bytes, XDP_DROP);

	l3 = jl_icmp_reframe(ctx, pkt, quote, sizeof(*ip) + JL_ICMP_HLEN, bpf_htons(ETH_P_IP));
	if (l3 < 0 || l3 > 18)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = data + l3;
	icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > end)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	jl_write_outer4(ip, JL_ICMP4_TOS, sizeof(*ip) + JL_ICMP_HLEN + quote, JL_ICMP_TTL,
	                IPPROTO_ICMP, vip, client);
	icmp->type = JL_ICMP_DEST_UNREACH;
	icmp->code = JL_ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->unused = 0;
	icmp->mtu = bpf_htons(mtu);

	sum = jl_csum_frame(ctx, l3 + sizeof(*ip) + JL_ICMP_HLEN, quote);
	if (sum == JL_CSUM_ERR)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	icmp = data + l3 + sizeof(*ip);
	if ((void *)(icmp + 1) > end)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	icmp->checksum = jl_csum_finish(sum + jl_csum_words(icmp, 2));
	return jl_verdict(JL_CNT_TX_ICMP_TOO_BIG, bytes, XDP_TX);
}

/*
 * IPv6: ICMPv6 packet too big with the MTU, quoting as much of the original as fits
 * in 1280 bytes (RFC 4443 2.4 (c)) and never making the answer larger than the
 * packet it is about, from the VIP. The MTU is never advertised below 1280: hosts
 * ignore such a value (RFC 8201 4); configuration refuses an IPv6 VIP whose mtu
 * leaves less than that after encapsulation.
 */
__noinline int jl_icmp6_too_big(struct xdp_md *ctx, struct jl_pkt *pkt, __u32 mtu)
{
	__u32 client[4], vip[4];
	__u32 quote, sum, plen;
	struct icmp6hdr *icmp6;
	struct ipv6hdr *ip6;
	void *data, *end;
	__u64 bytes, total;
	int l3;

	if (!pkt)
		return XDP_ABORTED;
	bytes = pkt->frame_len;
	__builtin_memcpy(client, pkt->flow.src, sizeof(client));
	__builtin_memcpy(vip, pkt->flow.dst, sizeof(vip));
	if (mtu < JL_IPV6_MIN_MTU)
		mtu = JL_IPV6_MIN_MTU;
	quote = pkt->ip_len;
	if (quote > JL_IPV6_MIN_MTU - sizeof(*ip6) - JL_ICMP_HLEN)
		quote = JL_IPV6_MIN_MTU - sizeof(*ip6) - JL_ICMP_HLEN;
	/* No larger than what caused it: the new headers come out of the quote. */
	if (quote + sizeof(*ip6) + JL_ICMP_HLEN > pkt->ip_len)
		quote = pkt->ip_len > sizeof(*ip6) + JL_ICMP_HLEN
		                ? pkt->ip_len - sizeof(*ip6) - JL_ICMP_HLEN
		                : 0;
	plen = JL_ICMP_HLEN + quote;

	l3 = jl_icmp_reframe(ctx, pkt, quote, sizeof(*ip6) + JL_ICMP_HLEN, bpf_htons(ETH_P_IPV6));
	if (l3 < 0 || l3 > 18)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip6 = data + l3;
	icmp6 = (void *)(ip6 + 1);
	if ((void *)(icmp6 + 1) > end)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	jl_write_outer6(ip6, 0, 0, plen, IPPROTO_ICMPV6, JL_ICMP_TTL, vip, client);
	icmp6->icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp6->icmp6_code = 0;
	icmp6->icmp6_cksum = 0;
	icmp6->icmp6_mtu = bpf_htonl(mtu);

	sum = jl_csum_frame(ctx, l3 + sizeof(*ip6) + JL_ICMP_HLEN, quote);
	if (sum == JL_CSUM_ERR)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip6 = data + l3;
	icmp6 = (void *)(ip6 + 1);
	if ((void *)(icmp6 + 1) > end)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	total = sum + jl_csum_words(icmp6, 2) + jl_csum_words(&ip6->saddr, 8) + bpf_htons(plen) +
	        bpf_htons(IPPROTO_ICMPV6);
	icmp6->icmp6_cksum = jl_csum_finish(total);
	return jl_verdict(JL_CNT_TX_ICMP_TOO_BIG, bytes, XDP_TX);
}

/* The ICMP / ICMPv6 type of a parsed ICMP packet (its 8-byte header is in the frame). */
JL_INLINE int jl_icmp_type(struct xdp_md *ctx, const struct jl_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 off = pkt->l4_off;
	__u8 *type;

	if (off > JL_MAX_FRAME_BYTES)
		return -1;
	type = data + off;
	if ((void *)(type + 1) > end)
		return -1;
	return *type;
}

JL_INLINE int jl_icmp_is_echo_request(struct xdp_md *ctx, const struct jl_pkt *pkt)
{
	return jl_icmp_type(ctx, pkt) ==
	       (pkt->flow.family == JL_FAMILY_V4 ? JL_ICMP_ECHO : ICMPV6_ECHO_REQUEST);
}

/* Bytes of the ICMP message (header and data) of a parsed, unfragmented ICMP packet. */
JL_INLINE __u32 jl_icmp_message_len(const struct jl_pkt *pkt)
{
	return pkt->ip_len - (pkt->l4_off - pkt->l3_off);
}

/*
 * Whether an echo request's checksum is right (ICMPv6: with the pseudo-header,
 * RFC 4443 2.3). The reply's checksum is derived from it, so a request the kernel
 * would discard is never answered. 1: right; 0: wrong or unreadable.
 */
__noinline int jl_icmp_echo_valid(struct xdp_md *ctx, const struct jl_pkt *pkt)
{
	__u32 len, sum;
	__u64 total;

	if (!pkt)
		return 0;
	len = jl_icmp_message_len(pkt);
	sum = jl_csum_frame(ctx, pkt->l4_off, len);
	if (sum == JL_CSUM_ERR)
		return 0;
	total = sum;
	if (pkt->flow.family == JL_FAMILY_V6)
		total += jl_csum_words(pkt->flow.src, 4) + jl_csum_words(pkt->flow.dst, 4) +
		         bpf_htons(len) + bpf_htons(IPPROTO_ICMPV6);
	return jl_csum_fold(total) == 0xffff;
}

/*
 * Turn a (checked) echo request into its echo reply, in place: Ethernet addresses
 * swapped (tag kept), a fresh IP header from the VIP to the client (IPv4 options and
 * IPv6 extension headers are not echoed; DSCP kept, ECN cleared, TTL / hop limit
 * JL_ICMP_TTL, IPv4 DF set and id 0, IPv6 flow label 0), the type changed to echo
 * reply and the checksum updated for it. Identifier, sequence number and data are
 * the request's; Ethernet padding behind the IP packet is cut off.
 * Counted and returned as the verdict.
 */
__noinline int jl_icmp_echo_reply(struct xdp_md *ctx, struct jl_pkt *pkt)
{
	__u32 l3, hlen, len, strip, keep;
	__u32 client[4], vip[4];
	__u8 old_dst[ETH_ALEN], old_src[ETH_ALEN];
	struct jl_icmphdr *icmp;
	struct ethhdr *eth;
	void *data, *end;
	__u16 before;
	__be16 tci = 0;
	__u64 bytes;
	int v4;

	if (!pkt)
		return XDP_ABORTED;
	bytes = pkt->frame_len;
	v4 = pkt->flow.family == JL_FAMILY_V4;
	l3 = pkt->vlan ? ETH_HLEN + sizeof(struct jl_vlan_hdr) : ETH_HLEN;
	hlen = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	len = jl_icmp_message_len(pkt);
	if (pkt->l4_off < l3 + hlen || pkt->l4_off > JL_MAX_FRAME_BYTES || len > JL_MAX_FRAME_BYTES)
		return jl_verdict(JL_CNT_DROP_MALFORMED, bytes, XDP_DROP);
	strip = pkt->l4_off - l3 - hlen;
	__builtin_memcpy(client, pkt->flow.src, sizeof(client));
	__builtin_memcpy(vip, pkt->flow.dst, sizeof(vip));

	keep = pkt->l4_off + len;
	if (bytes > keep && bpf_xdp_adjust_tail(ctx, -(int)(bytes - keep)))
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) + sizeof(struct jl_vlan_hdr) > end)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	__builtin_memcpy(old_dst, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(old_src, eth->h_source, ETH_ALEN);
	if (pkt->vlan)
		tci = ((struct jl_vlan_hdr *)(eth + 1))->tci;
	/* Options / extension headers go: the new headers end where the ICMP message starts. */
	if (strip && bpf_xdp_adjust_head(ctx, (int)strip))
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) + sizeof(struct jl_vlan_hdr) > end)
		return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	__builtin_memcpy(eth->h_dest, old_src, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old_dst, ETH_ALEN);
	if (pkt->vlan) {
		struct jl_vlan_hdr *vh = (void *)(eth + 1);

		eth->h_proto = bpf_htons(JL_ETH_P_8021Q);
		vh->tci = tci;
		vh->proto = bpf_htons(v4 ? ETH_P_IP : ETH_P_IPV6);
	} else {
		eth->h_proto = bpf_htons(v4 ? ETH_P_IP : ETH_P_IPV6);
	}
	if (v4) {
		struct iphdr *ip = data + l3;

		icmp = (void *)(ip + 1);
		if ((void *)(icmp + 1) > end)
			return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
		jl_write_outer4(ip, pkt->tos & ~JL_ECN_MASK, sizeof(*ip) + len, JL_ICMP_TTL,
		                IPPROTO_ICMP, vip[0], client[0]);
		before = *(jl_word16 *)icmp;
		icmp->type = JL_ICMP_ECHOREPLY;
	} else {
		struct ipv6hdr *ip6 = data + l3;

		icmp = (void *)(ip6 + 1);
		if ((void *)(icmp + 1) > end)
			return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
		jl_write_outer6(ip6, pkt->tos & ~JL_ECN_MASK, 0, len, IPPROTO_ICMPV6, JL_ICMP_TTL,
		                vip, client);
		before = *(jl_word16 *)icmp;
		icmp->type = ICMPV6_ECHO_REPLY;
	}
	/* Type and code are one 16-bit word of the sum; the pseudo-header's sum (ICMPv6)
	 * is the same with the addresses swapped. */
	icmp->checksum = jl_csum_replace16(icmp->checksum, before, *(jl_word16 *)icmp);
	return jl_verdict(JL_CNT_TX_ECHO_REPLY, bytes, XDP_TX);
}

/* An ICMP / ICMPv6 error that quotes the packet it is about. */
JL_INLINE int jl_icmp_is_error(struct xdp_md *ctx, const struct jl_pkt *pkt)
{
	int type = jl_icmp_type(ctx, pkt);

	if (pkt->flow.family == JL_FAMILY_V4)
		return type == JL_ICMP_DEST_UNREACH || type == JL_ICMP_TIME_EXCEEDED ||
		       type == JL_ICMP_PARAMETERPROB;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

/*
 * The flow an ICMP error is about. The quoted packet is a reply the service sent
 * (VIP:port -> client), so the flow as the client sends it is that tuple reversed.
 * Only the ports of the quoted transport header are needed. Returns 0, or -1 if
 * the quote is not a whole-enough TCP/UDP packet of the same family.
 */
JL_INLINE int jl_icmp_quoted_flow(struct xdp_md *ctx, const struct jl_pkt *pkt,
                                  struct jl_flow_key *client)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 off = pkt->l4_off + JL_ICMP_HLEN;
	struct jl_ports *ports;
	__u8 proto;

	if (off > JL_MAX_FRAME_BYTES)
		return -1;
	__builtin_memset(client, 0, sizeof(*client));
	if (pkt->flow.family == JL_FAMILY_V4) {
		struct iphdr *in = data + off;
		__u32 hlen;
		__u8 vihl;

		if ((void *)(in + 1) > end)
			return -1;
		vihl = *(__u8 *)in;
		hlen = (vihl & 0xf) * 4;
		proto = in->protocol;
		if ((vihl >> 4) != 4 || hlen < sizeof(*in) ||
		    (in->frag_off & bpf_htons(JL_IP_OFFSET)))
			return -1;
		ports = data + off + hlen;
		if ((void *)(ports + 1) > end)
			return -1;
		client->family = JL_FAMILY_V4;
		client->src[0] = in->daddr;
		client->dst[0] = in->saddr;
	} else {
		struct ipv6hdr *in6 = data + off;
		__u32 o = off + sizeof(*in6);
		__u8 frag = 0;

		if ((void *)(in6 + 1) > end)
			return -1;
		if ((*(__u8 *)in6 >> 4) != 6)
			return -1;
		__builtin_memcpy(client->src, &in6->daddr, sizeof(client->src));
		__builtin_memcpy(client->dst, &in6->saddr, sizeof(client->dst));
		proto = in6->nexthdr;
		/* The quote may be cut anywhere: the walk is bounded by the frame only. */
		if (jl_ipv6_walk(data, end, &o, &proto, JL_MAX_FRAME_BYTES, &frag) || frag)
			return -1;
		if (o > JL_MAX_FRAME_BYTES)
			return -1;
		ports = data + o;
		if ((void *)(ports + 1) > end)
			return -1;
		client->family = JL_FAMILY_V6;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -1;
	client->proto = proto;
	client->sport = ports->dest;
	client->dport = ports->source;
	return 0;
}

#endif /* JULIER_LIB_ICMP_H */
