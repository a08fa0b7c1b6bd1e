/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * julier_decap: runs on a backend's interface and removes the tunnel header the
 * forwarder added (IPIP, IPv6-in-IPv6, IPv4-in-IPv6, GUE), because the kernels this
 * runs on may have no tunnel modules. The Ethernet header (and an 802.1Q tag) stays;
 * its ethertype becomes the inner family, and the kernel receives the inner packet as
 * if it had arrived bare. Only tunnel packets to a local address from an allowed outer
 * source are stripped; those from any other source are dropped, and with no sources
 * or no local addresses configured nothing is stripped. Everything that is not a
 * tunnel packet for this host passes untouched. Maps and counters: abi.h ("The
 * decapsulator"); loader: julier-decap.
 */
#include "lib/common.h"
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
	__u8 inner_family;
	__u8 counter; /* enum jl_decap_counter on success */
};

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
 * GUE after the outer UDP header. Variant 0 is taken with no optional fields (hlen 0)
 * and no control messages; variant 1 carries the inner IPv4/IPv6 header directly.
 * Returns 0, or -1 for GUE this program does not take.
 */
JL_INLINE int jl_gue(void *data, void *end, __u32 off, struct jl_tunnel *t)
{
	struct jl_gue_hdr *g = data + off;

	if (off > JL_MAX_FRAME_BYTES || (void *)g + 1 > end)
		return -1;
	if (JL_GUE_VARIANT(g->vchl) == 1) {
		/* The first nibble of an IP header: 0100 = IPv4, 0110 = IPv6. */
		t->inner_off = off;
		t->inner_family = (g->vchl >> 4) == 4 ? JL_FAMILY_V4 : JL_FAMILY_V6;
		t->counter = JL_DECAP_CNT_DECAP_GUE_DIRECT;
		return 0;
	}
	if ((void *)(g + 1) > end || JL_GUE_VARIANT(g->vchl) != 0 ||
	    (g->vchl & (JL_GUE_C | JL_GUE_HLEN)))
		return -1;
	if (g->proto == IPPROTO_IPIP)
		t->inner_family = JL_FAMILY_V4;
	else if (g->proto == IPPROTO_IPV6)
		t->inner_family = JL_FAMILY_V6;
	else
		return -1;
	t->inner_off = off + sizeof(*g);
	t->counter = JL_DECAP_CNT_DECAP_GUE;
	return 0;
}

JL_INLINE int jl_is_local(const struct jl_pkt *pkt)
{
	struct jl_decap_addr key = {};

	__builtin_memcpy(key.addr, pkt->flow.dst, sizeof(key.addr));
	key.family = pkt->flow.family;
	return bpf_map_lookup_elem(&jl_decap_addrs, &key) != NULL;
}

/* The outer source lies in one of the allowed prefixes (jl_decap_sources). */
JL_INLINE int jl_source_allowed(const struct jl_pkt *pkt)
{
	struct jl_decap_source key = {};

	key.family = pkt->flow.family;
	key.prefixlen = JL_DECAP_SOURCE_KEY_BITS + (pkt->flow.family == JL_FAMILY_V4 ? 32 : 128);
	__builtin_memcpy(key.addr, pkt->flow.src, sizeof(key.addr));
	return bpf_map_lookup_elem(&jl_decap_sources, &key) != NULL;
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
	if (!jl_source_allowed(&pkt))
		return jl_count_verdict(&jl_decap_counters, JL_DECAP_CNT_DROP_SOURCE, pkt.frame_len,
		                        XDP_DROP);
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
