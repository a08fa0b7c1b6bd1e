/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * julier_decap: runs on a backend's interface and removes the tunnel header the
 * forwarder added (IPIP, IPv6-in-IPv6, IPv4-in-IPv6, GUE), because the kernels this
 * runs on may have no tunnel modules. The Ethernet header (and an 802.1Q tag) stays;
 * its ethertype becomes the inner family, and the kernel receives the inner packet as
 * if it had arrived bare. Only tunnel packets to a local address from an allowed outer
 * source are stripped; those from any other source are dropped, and with no sources
 * or no local addresses configured nothing is stripped. Everything that is not a
 * tunnel packet for this host passes untouched. A GUE packet that names a second
 * candidate (abi.h, struct jl_gue_sc) and holds a TCP packet without SYN for which
 * this host has no socket is sent on to that candidate instead (docs/fleet.md,
 * "Second chance"). Maps and counters: abi.h ("The decapsulator"); loader:
 * julier-decap.
 */
#include "lib/common.h"
#include "lib/csum.h"
#include "lib/parse.h"
#include "lib/tunnel_ecn.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JL_DECAP_MAX_ADDRS);
	__type(key, struct jl_decap_addr);
	__type(value, __u32);
} jl_decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, JL_DECAP_MAX_SOURCES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct jl_decap_source);
	__type(value, __u32);
} jl_decap_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, JL_DECAP_MAX_PEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct jl_decap_source);
	__type(value, __u32);
} jl_decap_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jl_decap_cfg);
} jl_decap_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, JL_DECAP_CNT_COUNT);
	__type(key, __u32);
	__type(value, struct jl_traffic);
} jl_decap_counters SEC(".maps");

/* GUE variant 0 header (draft-ietf-intarea-gue): ver(2) C(1) hlen(5), proto, flags. */
struct jl_gue_hdr {
	__u8 vchl;
	__u8 proto;
	__be16 flags;
};

#define JL_GUE_VARIANT(b) ((b) >> 6)
#define JL_GUE_C 0x20
#define JL_GUE_HLEN 0x1f

/* What sits between the Ethernet header and the inner IP header. */
struct jl_tunnel {
	__u32 inner_off; /* from the start of the frame */
	__u32 sc_off;    /* struct jl_gue_sc, from the start of the frame; 0: none */
	__u8 inner_family;
	__u8 counter; /* enum jl_decap_counter on success */
};

#define JL_AF_INET 2   /* AF_INET, for bpf_fib_lookup */
#define JL_AF_INET6 10 /* AF_INET6 */
#define JL_TCP_SYN 0x02

/*
 * The ECN field of the inner header, or -1 unless that header is whole and of the
 * family the tunnel announced.
 */
JL_INLINE int jl_inner_ecn(void *data, void *end, const struct jl_tunnel *t)
{
	__u8 *v;

	if (t->inner_off > JL_MAX_FRAME_BYTES)
		return -1;
	v = data + t->inner_off;
	if (t->inner_family == JL_FAMILY_V4) {
		struct iphdr *ip = (void *)v;

		if ((void *)(ip + 1) > end || (*v >> 4) != 4 || (*v & 0xf) < 5)
			return -1;
		return jl_ipv4_ecn(ip);
	}
	if ((void *)v + sizeof(struct ipv6hdr) > end || (*v >> 4) != 6)
		return -1;
	return jl_ipv6_ecn((void *)v);
}

/*
 * GUE after the outer UDP header. Variant 0 is taken without control messages; its
 * optional-field area (hlen words) is taken with standard flags 0 only, that is as
 * private data, and skipped as Linux's fou does, but for julier's second-chance
 * field, which is noted in t->sc_off. Variant 1 carries the inner IPv4/IPv6 header
 * directly. Returns 0, or -1 for GUE this program does not take.
 */
JL_INLINE int jl_gue(void *data, void *end, __u32 off, struct jl_tunnel *t)
{
	struct jl_gue_hdr *g = data + off;
	__u32 hlen;

	if (off > JL_MAX_FRAME_BYTES || (void *)g + 1 > end)
		return -1;
	if (JL_GUE_VARIANT(g->vchl) == 1) {
		/* The first nibble of an IP header: 0100 = IPv4, 0110 = IPv6. */
		t->inner_off = off;
		t->inner_family = (g->vchl >> 4) == 4 ? JL_FAMILY_V4 : JL_FAMILY_V6;
		t->counter = JL_DECAP_CNT_DECAP_GUE_DIRECT;
		return 0;
	}
	if ((void *)(g + 1) > end || JL_GUE_VARIANT(g->vchl) != 0 || (g->vchl & JL_GUE_C))
		return -1;
	hlen = (g->vchl & JL_GUE_HLEN) * 4;
	/* Flags announce fields this program does not know (Linux knows one: private
	 * flags); without flags the whole area is private data. */
	if (hlen && g->flags)
		return -1;
	if (g->proto == IPPROTO_IPIP)
		t->inner_family = JL_FAMILY_V4;
	else if (g->proto == IPPROTO_IPV6)
		t->inner_family = JL_FAMILY_V6;
	else
		return -1;
	t->inner_off = off + sizeof(*g) + hlen;
	t->counter = JL_DECAP_CNT_DECAP_GUE;
	if (hlen >= JL_GUE_SC_BYTES) {
		struct jl_gue_sc *sc = (void *)(g + 1);

		if ((void *)(sc + 1) > end)
			return -1;
		if (sc->type == bpf_htons(JL_GUE_SC_TYPE))
			t->sc_off = off + sizeof(*g);
	}
	return 0;
}

JL_INLINE int jl_is_local(const struct jl_pkt *pkt)
{
	struct jl_decap_addr key = {};

	__builtin_memcpy(key.addr, pkt->flow.dst, sizeof(key.addr));
	key.family = pkt->flow.family;
	return bpf_map_lookup_elem(&jl_decap_addrs, &key) != NULL;
}

/* The address lies in one of the prefixes of an LPM trie keyed by jl_decap_source. */
JL_INLINE int jl_in_prefixes(void *trie, __u8 family, const __u32 *addr)
{
	struct jl_decap_source key = {};

	key.family = family;
	key.prefixlen = JL_DECAP_SOURCE_KEY_BITS + (family == JL_FAMILY_V4 ? 32 : 128);
	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	return bpf_map_lookup_elem(trie, &key) != NULL;
}

/* The outer source lies in one of the allowed prefixes (jl_decap_sources), or is a
 * peer backend (jl_decap_peers) that sends on a second chance. */
JL_INLINE int jl_source_allowed(const struct jl_pkt *pkt, const struct jl_decap_cfg *cfg)
{
	if (jl_in_prefixes(&jl_decap_sources, pkt->flow.family, pkt->flow.src))
		return 1;
	return cfg->peers && jl_in_prefixes(&jl_decap_peers, pkt->flow.family, pkt->flow.src);
}

/*
 * The inner packet is TCP without SYN (IPv4 not a fragment, IPv6 without extension
 * headers): its 4-tuple as bpf_skc_lookup_tcp takes it, and where its IP and TCP
 * headers are. Returns 0, or -1 for any other packet.
 */
struct jl_inner_tcp {
	struct bpf_sock_tuple tuple;
	__u32 tuple_len;
	__u32 l3_off;
	__u32 l4_off;
};

JL_INLINE int jl_inner_tcp_nosyn(void *data, void *end, const struct jl_tunnel *t,
                                 struct jl_inner_tcp *in)
{
	struct tcphdr *th;

	if (t->inner_off > JL_MAX_FRAME_BYTES)
		return -1;
	in->l3_off = t->inner_off;
	if (t->inner_family == JL_FAMILY_V4) {
		struct iphdr *ip = data + t->inner_off;
		__u32 ihl;

		if ((void *)(ip + 1) > end)
			return -1;
		ihl = (*(__u8 *)ip & 0xf) * 4;
		if (ihl < sizeof(*ip) || ip->protocol != IPPROTO_TCP ||
		    (ip->frag_off & bpf_htons(JL_IP_MF | JL_IP_OFFSET)))
			return -1;
		in->l4_off = t->inner_off + ihl;
		in->tuple.ipv4.saddr = ip->saddr;
		in->tuple.ipv4.daddr = ip->daddr;
		in->tuple_len = sizeof(in->tuple.ipv4);
	} else {
		struct ipv6hdr *ip6 = data + t->inner_off;

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return -1;
		in->l4_off = t->inner_off + sizeof(*ip6);
		__builtin_memcpy(in->tuple.ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(in->tuple.ipv6.daddr, &ip6->daddr, 16);
		in->tuple_len = sizeof(in->tuple.ipv6);
	}
	if (in->l4_off > JL_MAX_FRAME_BYTES)
		return -1;
	th = data + in->l4_off;
	if ((void *)(th + 1) > end || (((__u8 *)th)[13] & JL_TCP_SYN))
		return -1;
	if (t->inner_family == JL_FAMILY_V4) {
		in->tuple.ipv4.sport = th->source;
		in->tuple.ipv4.dport = th->dest;
	} else {
		in->tuple.ipv6.sport = th->source;
		in->tuple.ipv6.dport = th->dest;
	}
	return 0;
}

/*
 * This host's kernel would take the inner packet: a socket of its 4-tuple that is
 * established (or closing), SYN-received (a request socket) or in TIME-WAIT, or a
 * listener for which the packet is the ACK that completes a SYN-cookie handshake
 * (bpf_tcp_check_syncookie: only while the listener recently sent cookies). A bare
 * listener does not count: a non-SYN packet to it would be answered with a reset.
 * Looked up in the network namespace of the receiving device.
 */
JL_INLINE int jl_has_socket(struct xdp_md *ctx, struct jl_inner_tcp *in, __u8 family)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct bpf_sock *sk;
	int found;

	sk = bpf_skc_lookup_tcp(ctx, &in->tuple, in->tuple_len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	found = 1;
	if (sk->state == BPF_TCP_LISTEN) {
		void *ip = data + in->l3_off;
		struct tcphdr *th = data + in->l4_off;

		found = 0;
		if (in->l3_off > JL_MAX_FRAME_BYTES || in->l4_off > JL_MAX_FRAME_BYTES ||
		    (void *)(th + 1) > end)
			goto out;
		if (family == JL_FAMILY_V4) {
			if (ip + sizeof(struct iphdr) <= end)
				found = bpf_tcp_check_syncookie(sk, ip, sizeof(struct iphdr), th,
				                                sizeof(*th)) == 0;
		} else {
			if (ip + sizeof(struct ipv6hdr) <= end)
				found = bpf_tcp_check_syncookie(sk, ip, sizeof(struct ipv6hdr), th,
				                                sizeof(*th)) == 0;
		}
	}
out:
	bpf_sk_release(sk);
	return found;
}

/*
 * Second chance: a GUE packet that names a candidate (t->sc_off). Returns the XDP
 * action when the packet was rewritten toward the candidate (t->counter says how it
 * left), or -1 when it is to be decapsulated here, with t->counter set to the
 * reason if it was a candidate for forwarding at all.
 */
JL_INLINE int jl_second_chance(struct xdp_md *ctx, const struct jl_pkt *pkt, struct jl_tunnel *t,
                               const struct jl_decap_cfg *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct jl_inner_tcp in = {};
	struct jl_gue_sc *sc;
	struct ethhdr *eth;
	__u32 cand[4], local[4];
	__u8 family, hops;
	__u16 from16;
	int rc;

	/* Feature off: the field is ignored, the packet is plain GUE. */
	if (!cfg->peers)
		return -1;
	if (t->sc_off > JL_MAX_FRAME_BYTES)
		return -1;
	sc = data + t->sc_off;
	if ((void *)(sc + 1) > end)
		return -1;
	family = sc->family;
	hops = sc->hops;
	__builtin_memcpy(cand, sc->addr, sizeof(cand));
	if (jl_inner_tcp_nosyn(data, end, t, &in))
		return -1;

	if (jl_has_socket(ctx, &in, t->inner_family)) {
		t->counter = JL_DECAP_CNT_DECAP_SC_KEPT;
		return -1;
	}
	__builtin_memcpy(local, pkt->flow.dst, sizeof(local)); /* the address it came to */
	if (family == JL_FAMILY_V4)
		cand[1] = cand[2] = cand[3] = 0;
	/* Forwarded as often as allowed already, or arrived where it was sent. */
	if (hops == 0 || pkt->ttl <= 1 ||
	    (cand[0] == local[0] && cand[1] == local[1] && cand[2] == local[2] &&
	     cand[3] == local[3])) {
		t->counter = JL_DECAP_CNT_DECAP_SC_HOP_LIMIT;
		return -1;
	}
	/* The candidate must be reached from the address the packet came to, in the
	 * same family, and be a configured peer. */
	if (family != pkt->flow.family || !jl_in_prefixes(&jl_decap_peers, family, cand)) {
		t->counter = JL_DECAP_CNT_DECAP_SC_NOT_PEER;
		return -1;
	}

	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = IPPROTO_UDP;
	fib.sport = pkt->flow.sport;
	fib.dport = pkt->flow.dport;
	fib.tot_len = pkt->ip_len;
	if (family == JL_FAMILY_V4) {
		fib.family = JL_AF_INET;
		fib.tos = pkt->tos;
		fib.ipv4_src = local[0];
		fib.ipv4_dst = cand[0];
	} else {
		fib.family = JL_AF_INET6;
		__builtin_memcpy(fib.ipv6_src, local, sizeof(fib.ipv6_src));
		__builtin_memcpy(fib.ipv6_dst, cand, sizeof(fib.ipv6_dst));
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	/* A tagged frame may only go back out tagged, through the device it came in on. */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || (pkt->vlan && fib.ifindex != ctx->ingress_ifindex)) {
		t->counter = JL_DECAP_CNT_DECAP_SC_FIB;
		return -1;
	}

	/* Nothing was changed so far; from here on the packet leaves. */
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end || t->sc_off > JL_MAX_FRAME_BYTES ||
	    pkt->l3_off > JL_MAX_FRAME_BYTES || pkt->l4_off > JL_MAX_FRAME_BYTES)
		return -1;
	sc = data + t->sc_off;
	if ((void *)(sc + 1) > end)
		return -1;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	from16 = *(jl_word16 *)&sc->family; /* the checksummed word: family, hops */
	sc->hops = hops - 1;
	{
		struct udphdr *udp = data + pkt->l4_off;
		__u64 before, after;

		if ((void *)(udp + 1) > end)
			return -1;
		if (family == JL_FAMILY_V4) {
			struct iphdr *ip = data + pkt->l3_off;
			__u64 ttl_before, ttl_after;

			if ((void *)(ip + 1) > end)
				return -1;
			before = jl_csum_words(&ip->saddr, 2);
			ttl_before = *(jl_word16 *)&ip->ttl; /* TTL, protocol */
			ip->ttl--;
			ip->saddr = local[0];
			ip->daddr = cand[0];
			after = jl_csum_words(&ip->saddr, 2);
			ttl_after = *(jl_word16 *)&ip->ttl;
			ip->check =
			        jl_csum_replace(ip->check, before + ttl_before, after + ttl_after);
		} else {
			struct ipv6hdr *ip6 = data + pkt->l3_off;

			if ((void *)(ip6 + 1) > end)
				return -1;
			before = jl_csum_words(&ip6->saddr, 8);
			ip6->hop_limit--;
			__builtin_memcpy(&ip6->saddr, local, 16);
			__builtin_memcpy(&ip6->daddr, cand, 16);
			after = jl_csum_words(&ip6->saddr, 8);
		}
		/* IPv4 UDP without a checksum stays without one. */
		if (udp->check) {
			__u16 check = jl_csum_replace(udp->check, before + from16,
			                              after + *(jl_word16 *)&sc->family);

			udp->check = check ? check : 0xffff;
		}
	}
	if (fib.ifindex == ctx->ingress_ifindex) {
		t->counter = JL_DECAP_CNT_TX_SECOND_CHANCE;
		return XDP_TX;
	}
	t->counter = JL_DECAP_CNT_REDIRECT_SECOND_CHANCE;
	return bpf_redirect(fib.ifindex, 0);
}

/* Drop the bytes between the link header and the inner IP header; keep the link header. */
JL_INLINE int jl_strip(struct xdp_md *ctx, const struct jl_pkt *pkt, const struct jl_tunnel *t)
{
	struct {
		struct ethhdr eth;
		struct jl_vlan_hdr vlan;
	} l2;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__be16 type = bpf_htons(t->inner_family == JL_FAMILY_V4 ? ETH_P_IP : ETH_P_IPV6);
	int strip = t->inner_off - pkt->l3_off;

	if (data + sizeof(l2) > end)
		return -1;
	__builtin_memcpy(&l2, data, sizeof(l2));
	if (bpf_xdp_adjust_head(ctx, strip))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(l2) > end)
		return -1;
	if (pkt->vlan) {
		l2.vlan.proto = type;
		__builtin_memcpy(data, &l2, sizeof(l2));
	} else {
		l2.eth.h_proto = type;
		__builtin_memcpy(data, &l2.eth, sizeof(l2.eth));
	}
	return 0;
}

SEC("xdp")
int julier_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct jl_tunnel t = {};
	struct jl_decap_cfg *cfg;
	struct jl_pkt pkt;
	__u32 zero = 0;
	__u16 gue_port;
	int parsed, inner_ecn, ecn;

	parsed = jl_parse(ctx, &pkt);
	if (parsed == JL_PARSE_NOT_IP)
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_NOT_TUNNEL,
		                        pkt.frame_len, XDP_PASS);
	if (parsed != JL_PARSE_OK)
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_MALFORMED,
		                        pkt.frame_len, XDP_PASS);
	if (pkt.frag)
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_FRAGMENT,
		                        pkt.frame_len, XDP_PASS);

	cfg = bpf_map_lookup_elem(&jl_decap_cfg, &zero);
	if (!cfg)
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_NOT_TUNNEL,
		                        pkt.frame_len, XDP_PASS);
	gue_port = cfg->gue_port ? cfg->gue_port : bpf_htons(JL_DEFAULT_GUE_PORT);

	switch (pkt.l4_proto) {
	case IPPROTO_IPIP:
		t.inner_off = pkt.l4_off;
		t.inner_family = JL_FAMILY_V4;
		t.counter = pkt.flow.family == JL_FAMILY_V4 ? JL_DECAP_CNT_DECAP_IPIP
		                                            : JL_DECAP_CNT_DECAP_IP4IN6;
		break;
	case IPPROTO_IPV6:
		/* IPv6 in IPv4 (6in4) is no forwarding mode: left to the kernel. */
		if (pkt.flow.family != JL_FAMILY_V6)
			return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_NOT_TUNNEL,
			                        pkt.frame_len, XDP_PASS);
		t.inner_off = pkt.l4_off;
		t.inner_family = JL_FAMILY_V6;
		t.counter = JL_DECAP_CNT_DECAP_IP6IP6;
		break;
	case IPPROTO_UDP:
		if (pkt.flow.dport != gue_port)
			return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_NOT_TUNNEL,
			                        pkt.frame_len, XDP_PASS);
		if (jl_gue(data, end, pkt.l4_off + sizeof(struct udphdr), &t))
			return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_MALFORMED,
			                        pkt.frame_len, XDP_PASS);
		break;
	default:
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_NOT_TUNNEL,
		                        pkt.frame_len, XDP_PASS);
	}

	/* Not configured (the all-zero jl_decap_cfg): decapsulate nothing; the kernel
	 * sees the tunnel packet as if no program ran. */
	if (!cfg->local_addrs || !cfg->sources)
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_UNCONFIGURED,
		                        pkt.frame_len, XDP_PASS);
	if (!jl_is_local(&pkt))
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_NOT_LOCAL,
		                        pkt.frame_len, XDP_PASS);
	/* For this host, but not from a balancer: a spoofed inner source must not get
	 * past the backend's filters. */
	if (!jl_source_allowed(&pkt, cfg))
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_DROP_SOURCE, pkt.frame_len,
		                        XDP_DROP);
	if (t.sc_off) {
		int action = jl_second_chance(ctx, &pkt, &t, cfg);

		if (action >= 0)
			return jl_count_verdict(&jl_decap_counters, t.counter, pkt.frame_len,
			                        action);
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
	}
	inner_ecn = jl_inner_ecn(data, end, &t);
	if (inner_ecn < 0)
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_MALFORMED,
		                        pkt.frame_len, XDP_PASS);

	/* RFC 6040, decided before anything is changed so that a drop leaves no trace. */
	ecn = jl_ecn_decapsulate(pkt.tos & JL_ECN_MASK, inner_ecn);
	if (ecn == JL_ECN_DROP)
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_DROP_ECN, pkt.frame_len,
		                        XDP_DROP);

	if (jl_strip(ctx, &pkt, &t))
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_PASS_MALFORMED,
		                        pkt.frame_len, XDP_PASS);

	if (ecn != inner_ecn) {
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (t.inner_family == JL_FAMILY_V4) {
			struct iphdr *ip = data + pkt.l3_off;

			if ((void *)(ip + 1) <= end)
				jl_ipv4_set_ecn(ip, ecn);
		} else {
			struct ipv6hdr *ip6 = data + pkt.l3_off;

			if ((void *)(ip6 + 1) <= end)
				jl_ipv6_set_ecn(ip6, ecn);
		}
	}
	return jl_count_verdict(&jl_decap_counters, t.counter, pkt.frame_len, XDP_PASS);
}
