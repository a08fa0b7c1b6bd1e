/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * julier's forwarder: parse -> service (VIP) lookup -> connection table or Maglev
 * ring -> rewrite or encapsulate -> XDP_TX / redirect. docs/forwarder.md walks
 * through it; every verdict is counted in jl_counters (lib/stats.h).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/hash.h"
#include "lib/csum.h"
#include "lib/catalogue.h"
#include "lib/conntrack.h"
#include "lib/flood.h"
#include "lib/l2.h"
#include "lib/encap.h"
#include "lib/icmp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Why a packet goes to a backend; decides connection tracking and its counter. */
enum jl_delivery {
	JL_DELIVER_FLOW,     /* TCP/UDP packet of a flow */
	JL_DELIVER_FRAGMENT, /* IP fragment: backend from the address pair, not tracked */
	JL_DELIVER_ICMP,     /* ICMP error about a flow: that flow's backend, not tracked */
};

/* The backend chosen for a packet. */
struct jl_choice {
	struct jl_backend *be;
	struct jl_flow *entry; /* the entry followed, touched once the packet is sent */
	__u64 now;             /* jl_now() once read, else 0 */
	__u32 backend_id;
	__u32 hash; /* entropy for outer headers, when hash_valid */
	__u8 hash_valid;
	__u8 remember;    /* write the choice to jl_flows once the packet is sent */
	__u8 new_flow;    /* that write counts in new_flows */
	__u8 nonsyn_miss; /* a TCP packet that is no SYN, FIN or RST found no entry */
	__u8 class;       /* enum jl_flow_class */
};

/* No drop: the choice is made. */
#define JL_CHOSEN JL_CNT_COUNT

/* Fresh pick from the service's Maglev ring. Returns JL_CHOSEN or a drop counter. */
JL_INLINE enum jl_counter jl_pick(const struct jl_vip *vip, __u32 side, __u32 ring_hash,
                                  struct jl_choice *c)
{
	struct jl_backend *be;
	__u32 id;

	if (vip->ring_size == 0)
		return JL_CNT_DROP_NO_BACKEND;
	if (jl_ring_backend(vip, side, ring_hash, &id))
		return JL_CNT_DROP_BAD_BACKEND;
	be = jl_backend_lookup(side, id);
	if (!jl_backend_serves(be, vip->service_id))
		return JL_CNT_DROP_BAD_BACKEND;
	c->be = be;
	c->backend_id = id;
	return JL_CHOSEN;
}

/*
 * A flow keeps its backend while its entry is usable and the backend takes it;
 * otherwise the ring picks, remembered or not by the packet's class (lib/conntrack.h).
 * A SYN never reads the table.
 */
JL_INLINE enum jl_counter jl_choose(const struct jl_flow_key *flow, const struct jl_vip *vip,
                                    __u32 side, enum jl_flow_class class, struct jl_choice *c)
{
	struct jl_flow *entry = NULL;
	__u32 ring_hash;

	c->class = class;
	if (class != JL_FLOW_SYN) {
		entry = jl_flow_entry(flow, vip, &c->now);
		if (entry) {
			c->be = jl_flow_backend(entry, vip, side);
			if (c->be) {
				c->backend_id = entry->backend_id;
				/* FIN and RST start a linger; UDP refreshes (when it can expire). */
				if (class == JL_FLOW_FIN || class == JL_FLOW_RST ||
				    (class == JL_FLOW_UDP && vip->udp_idle_timeout_ms))
					c->entry = entry;
				return JL_CHOSEN;
			}
		}
	}
	switch (class) {
	case JL_FLOW_OTHER:
		c->remember = 1;
		c->nonsyn_miss = !entry;
		c->new_flow = !!entry; /* a re-pick: its backend no longer takes it */
		break;
	case JL_FLOW_SYN:
	case JL_FLOW_UDP:
		c->remember = 1;
		c->new_flow = 1;
		break;
	default: /* FIN and RST create no entry; ICMP errors write nothing */
		break;
	}
	ring_hash = jl_ring_hash(flow, vip->flags);
	if (!(vip->flags & JL_VIP_F_HASH_MASK)) {
		c->hash = ring_hash; /* the 5-tuple hash: reused as outer-header entropy */
		c->hash_valid = 1;
	}
	return jl_pick(vip, side, ring_hash, c);
}

/* MTU exceeded by the encapsulated packet: answer the client (or drop), within
 * the side's ICMP answer rate and never to a source ICMP must not answer. */
JL_INLINE int jl_too_big(struct xdp_md *ctx, struct jl_pkt *pkt, __u32 mtu, __u32 side)
{
	if (!jl_icmp_source_ok(&pkt->flow) || (pkt->flow.family == JL_FAMILY_V4 && !pkt->df))
		return jl_verdict(JL_CNT_DROP_TOO_BIG, pkt->frame_len, XDP_DROP);
	if (!jl_icmp_rate_admit(side))
		return jl_verdict(JL_CNT_DROP_ICMP_RATE, pkt->frame_len, XDP_DROP);
	if (pkt->flow.family == JL_FAMILY_V4)
		return jl_icmp4_too_big(ctx, pkt, mtu);
	return jl_icmp6_too_big(ctx, pkt, mtu);
}

/* Rewrite or encapsulate for the chosen backend, remember the flow (within the
 * flood rate), count, send. */
JL_INLINE int jl_deliver(struct xdp_md *ctx, struct jl_pkt *pkt, const struct jl_vip *vip,
                         struct jl_choice *c, enum jl_delivery kind, __u32 side)
{
	const struct jl_backend *be = c->be;
	__u64 bytes = pkt->frame_len;
	int flood = 0;

	if (vip->mode == JL_MODE_L2) {
		if (jl_l2_rewrite(ctx, be))
			return jl_verdict(JL_CNT_DROP_MALFORMED, bytes, XDP_DROP);
	} else {
		int overhead = jl_encap_overhead(vip->mode, pkt->flow.family, be->family);

		if (overhead < 0)
			return jl_verdict(JL_CNT_DROP_BAD_BACKEND, bytes, XDP_DROP);
		if (pkt->ttl <= 1)
			return jl_verdict(JL_CNT_DROP_TTL_EXPIRED, bytes, XDP_DROP);
		if (pkt->ip_len + (__u32)overhead > vip->mtu) {
			/* Never an ICMP error about an ICMP error (RFC 1122 3.2.2). */
			if (kind == JL_DELIVER_ICMP)
				return jl_verdict(JL_CNT_DROP_TOO_BIG, bytes, XDP_DROP);
			return jl_too_big(ctx, pkt, vip->mtu > overhead ? vip->mtu - overhead : 0,
			                  side);
		}
		if (!c->hash_valid)
			c->hash = jl_hash_flow(&pkt->flow);
		if (jl_encapsulate(ctx, pkt, vip, be, c->hash, overhead))
			return jl_verdict(JL_CNT_DROP_HEADROOM, bytes, XDP_DROP);
	}
	if (c->remember && !jl_flood_admit(side)) {
		c->remember = 0;
		flood = 1;
		if (c->class == JL_FLOW_SYN)
			jl_flow_forget(&pkt->flow);
	}
	if (c->remember)
		jl_flow_remember(&pkt->flow, c->backend_id, vip->service_id,
		                 c->class == JL_FLOW_UDP ? jl_now(&c->now) : 0);
	else if (c->entry)
		jl_flow_touch(c->entry, c->class, &c->now);
	jl_count_delivery(vip->service_id, c->backend_id, bytes, c->remember && c->new_flow,
	                  c->nonsyn_miss);
	if (kind == JL_DELIVER_ICMP)
		return jl_egress(be, JL_CNT_TX_ICMP_ERROR, JL_CNT_REDIRECT_ICMP_ERROR, bytes);
	if (flood)
		return jl_egress(be, JL_CNT_TX_FORWARD_FLOOD, JL_CNT_REDIRECT_FORWARD_FLOOD, bytes);
	return jl_egress(be, JL_CNT_TX_FORWARD, JL_CNT_REDIRECT_FORWARD, bytes);
}

/*
 * Parse failures. Known destination (and protocol) that is a VIP address: drop,
 * the packet claims to be for a service but cannot be balanced. Anything else is
 * not ours to judge: the kernel gets it untouched.
 */
JL_INLINE int jl_parse_failure(const struct jl_pkt *pkt, int rc)
{
	__u64 bytes = pkt->frame_len;
	int vip_address = 0;

	if (rc == JL_PARSE_NOT_IP)
		return jl_verdict(JL_CNT_PASS_NOT_IP, bytes, XDP_PASS);
	if (rc == JL_PARSE_MALFORMED)
		vip_address = jl_frag_service_lookup(pkt->flow.dst, pkt->flow.proto,
		                                     pkt->flow.family, jl_active_side()) != NULL;
	else if (rc == JL_PARSE_MALFORMED_V6)
		vip_address = jl_is_vip_address(pkt->flow.dst, JL_FAMILY_V6, jl_active_side());
	if (vip_address)
		return jl_verdict(JL_CNT_DROP_MALFORMED, bytes, XDP_DROP);
	return jl_verdict(JL_CNT_PASS_UNPARSED, bytes, XDP_PASS);
}

/* Fragments: every fragment of a datagram to the same backend, by address pair. */
JL_INLINE int jl_fragment(struct xdp_md *ctx, struct jl_pkt *pkt, __u32 side)
{
	struct jl_choice c = {};
	struct jl_vip *vip;
	enum jl_counter rc;

	if (!jl_may_be_vip_address(pkt->flow.dst, side))
		return jl_verdict(JL_CNT_PASS_NOT_VIP, pkt->frame_len, XDP_PASS);
	vip = jl_frag_service_lookup(pkt->flow.dst, pkt->flow.proto, pkt->flow.family, side);
	if (!vip)
		return jl_verdict(JL_CNT_PASS_NOT_VIP, pkt->frame_len, XDP_PASS);
	c.hash = jl_hash_pair(&pkt->flow);
	c.hash_valid = 1;
	rc = jl_pick(vip, side, c.hash, &c);
	if (rc != JL_CHOSEN)
		return jl_verdict(rc, pkt->frame_len, XDP_DROP);
	return jl_deliver(ctx, pkt, vip, &c, JL_DELIVER_FRAGMENT, side);
}

/*
 * An echo request to a VIP address that answers ping (answer_ping) is answered here,
 * within the side's ICMP answer rate (the budget the too-big answers use) and never
 * to a source ICMP must not answer or with a bad checksum. Any other address's, or
 * one that does not answer ping, is the kernel's.
 */
__noinline int jl_echo(struct xdp_md *ctx, struct jl_pkt *pkt, __u32 side)
{
	if (!pkt)
		return XDP_ABORTED;
	if (!jl_may_be_vip_address(pkt->flow.dst, side) ||
	    !jl_answers_ping(pkt->flow.dst, pkt->flow.family, side))
		return jl_verdict(JL_CNT_PASS_NOT_VIP, pkt->frame_len, XDP_PASS);
	if (!jl_icmp_source_ok(&pkt->flow) || !jl_icmp_echo_valid(ctx, pkt))
		return jl_verdict(JL_CNT_DROP_ECHO_INVALID, pkt->frame_len, XDP_DROP);
	if (!jl_icmp_rate_admit(side))
		return jl_verdict(JL_CNT_DROP_ECHO_RATE, pkt->frame_len, XDP_DROP);
	return jl_icmp_echo_reply(ctx, pkt);
}

/*
 * ICMP errors to a VIP address about a reply of a service go to the backend of the
 * flow they are about (path MTU discovery towards DSR backends depends on it).
 * Other ICMP is for the kernel.
 */
__noinline int jl_icmp(struct xdp_md *ctx, struct jl_pkt *pkt, __u32 side)
{
	struct jl_choice c = {};
	struct jl_flow_key client;
	struct jl_vip *vip;
	enum jl_counter rc;

	if (!pkt)
		return XDP_ABORTED;
	if (!jl_icmp_is_error(ctx, pkt) || !jl_may_be_vip_address(pkt->flow.dst, side) ||
	    !jl_is_vip_address(pkt->flow.dst, pkt->flow.family, side))
		return jl_verdict(JL_CNT_PASS_NOT_VIP, pkt->frame_len, XDP_PASS);
	if (jl_icmp_quoted_flow(ctx, pkt, &client))
		return jl_verdict(JL_CNT_PASS_ICMP_NOT_FLOW, pkt->frame_len, XDP_PASS);
	vip = jl_service_lookup(&client, side);
	if (!vip)
		return jl_verdict(JL_CNT_PASS_ICMP_NOT_FLOW, pkt->frame_len, XDP_PASS);

	pkt->flow = client;
	/* An error is no evidence of a flow: it follows the table, never writes it. */
	rc = jl_choose(&pkt->flow, vip, side, JL_FLOW_LOOKUP, &c);
	if (rc != JL_CHOSEN)
		return jl_verdict(rc, pkt->frame_len, XDP_DROP);
	return jl_deliver(ctx, pkt, vip, &c, JL_DELIVER_ICMP, side);
}

SEC("xdp")
int julier_lb(struct xdp_md *ctx)
{
	struct jl_choice c = {};
	struct jl_pkt pkt;
	struct jl_vip *vip;
	enum jl_counter rc;
	int parsed;
	__u32 side;

	parsed = jl_parse(ctx, &pkt);
	if (jl_unlikely(parsed != JL_PARSE_OK))
		return jl_parse_failure(&pkt, parsed);

	side = jl_active_side();
	if (jl_unlikely(pkt.frag))
		return jl_fragment(ctx, &pkt, side);
	if (pkt.l4_proto != IPPROTO_TCP && pkt.l4_proto != IPPROTO_UDP) {
		if (pkt.l4_proto ==
		    (pkt.flow.family == JL_FAMILY_V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
			/* Called from here, not from jl_icmp: the BPF stack of the deepest
			 * chain of calls stays within its 512 bytes. */
			if (jl_icmp_is_echo_request(ctx, &pkt))
				return jl_echo(ctx, &pkt, side);
			return jl_icmp(ctx, &pkt, side);
		}
		return jl_verdict(JL_CNT_PASS_NOT_VIP, pkt.frame_len, XDP_PASS);
	}

	if (!jl_may_be_vip_address(pkt.flow.dst, side))
		return jl_verdict(JL_CNT_PASS_NOT_VIP, pkt.frame_len, XDP_PASS);
	vip = jl_service_lookup(&pkt.flow, side);
	if (!vip)
		return jl_verdict(JL_CNT_PASS_NOT_VIP, pkt.frame_len, XDP_PASS);
	rc = jl_choose(&pkt.flow, vip, side, jl_flow_class_of(pkt.l4_proto, pkt.tcp_flags), &c);
	if (rc != JL_CHOSEN)
		return jl_verdict(rc, pkt.frame_len, XDP_DROP);
	return jl_deliver(ctx, &pkt, vip, &c, JL_DELIVER_FLOW, side);
}
