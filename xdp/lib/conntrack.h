/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The connection table: jl_flows (LRU) maps a flow as the client sent it to the
 * backend id and service id it was given, with a time and flags for the TCP and
 * UDP rules (abi.h, struct jl_flow). Backend ids are stable across catalogue
 * generations, so an entry stays meaningful when the ring changes; whether the
 * backend still takes the flow is decided against the live side.
 *
 * What a packet asks of the table depends on its class (docs/forwarder.md, "Flows"):
 *   SYN    TCP SYN without ACK, FIN, RST: a new connection. The ring places it (no
 *          lookup) and its entry is written over, so drains, weights and added or
 *          recovered backends apply to every new connection, reused tuples too.
 *   FIN    TCP FIN (no RST), RST: TCP RST. Follow a usable entry and start its
 *          linger; without one the ring picks and nothing is written.
 *   OTHER  any other TCP packet (ACK, data, SYN+ACK): follow a usable entry; a
 *          miss is a nonsyn_miss, picked by the ring and remembered.
 *   UDP    follow a fresh entry (refreshing its last-seen time); else pick and
 *          remember.
 *   LOOKUP an ICMP error about the flow: follow a usable entry, never write.
 */
#ifndef JULIER_LIB_CONNTRACK_H
#define JULIER_LIB_CONNTRACK_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/catalogue.h"

enum jl_flow_class {
	JL_FLOW_OTHER = 0,
	JL_FLOW_SYN,
	JL_FLOW_FIN,
	JL_FLOW_RST,
	JL_FLOW_UDP,
	JL_FLOW_LOOKUP,
};

#define JL_TCP_FLAG_FIN 0x01
#define JL_TCP_FLAG_SYN 0x02
#define JL_TCP_FLAG_RST 0x04
#define JL_TCP_FLAG_ACK 0x10

/* The class of a TCP or UDP packet (not a fragment). RST wins over FIN, FIN over SYN. */
JL_INLINE enum jl_flow_class jl_flow_class_of(__u8 l4_proto, __u8 tcp_flags)
{
	if (l4_proto == IPPROTO_UDP)
		return JL_FLOW_UDP;
	if (tcp_flags & JL_TCP_FLAG_RST)
		return JL_FLOW_RST;
	if (tcp_flags & JL_TCP_FLAG_FIN)
		return JL_FLOW_FIN;
	if ((tcp_flags & (JL_TCP_FLAG_SYN | JL_TCP_FLAG_ACK)) == JL_TCP_FLAG_SYN)
		return JL_FLOW_SYN;
	return JL_FLOW_OTHER;
}

/*
 * The connection table's clock, read at most once per packet: CLOCK_MONOTONIC_COARSE
 * (bpf_ktime_get_coarse_ns, the time of the last scheduler tick). Its resolution of
 * a tick is nothing against a linger of seconds or an idle timeout, and it costs a
 * load where bpf_ktime_get_ns reads the clock source (on a VM, the paravirtual clock:
 * 15 % of an established UDP packet's time, BENCHMARKS.md).
 */
JL_INLINE __u64 jl_now(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_coarse_ns();
	return *now;
}

/*
 * The flow's entry as this service sees it, or NULL (absent): no entry, an entry of
 * another service, or an entry past its time (jl_flow_expired). The clock is read
 * only for an entry whose time matters.
 */
JL_INLINE struct jl_flow *jl_flow_entry(const struct jl_flow_key *key, const struct jl_vip *vip,
                                        __u64 *now)
{
	struct jl_flow *flow = bpf_map_lookup_elem(&jl_flows, key);

	if (!flow || flow->service_id != vip->service_id)
		return NULL;
	if (jl_flow_timed(flow, key->proto) &&
	    jl_flow_expired(flow, key->proto, vip->udp_idle_timeout_ms, jl_now(now)))
		return NULL;
	return flow;
}

/*
 * The backend an entry keeps on this side, or NULL if the flow must be re-picked
 * (jl_flow_keeps: the backend is gone, now belongs elsewhere, or is down; a draining
 * backend keeps its flows although it left the ring).
 */
JL_INLINE struct jl_backend *jl_flow_backend(const struct jl_flow *flow, const struct jl_vip *vip,
                                             __u32 side)
{
	struct jl_backend *be = jl_backend_lookup(side, flow->backend_id);

	if (!jl_flow_keeps(flow->service_id, be, vip->service_id))
		return NULL;
	return be;
}

/*
 * After a packet that followed its entry went out: a FIN or RST starts (or shortens,
 * never lengthens) the entry's linger; a UDP packet refreshes the last-seen time when
 * it is older than JL_UDP_REFRESH_NS. Written in place (no new element, nothing
 * evicted); the time before the flag, so that no CPU sees the flag with an old time.
 */
JL_INLINE void jl_flow_touch(struct jl_flow *flow, enum jl_flow_class class, __u64 *now)
{
	__u64 t = jl_now(now);

	if (class == JL_FLOW_UDP) {
		if ((__s64)(t - flow->time_ns) > (__s64)JL_UDP_REFRESH_NS)
			flow->time_ns = t;
		return;
	}
	if (class == JL_FLOW_FIN || class == JL_FLOW_RST) {
		__u64 deadline =
		        t + (class == JL_FLOW_RST ? JL_TCP_RST_LINGER_NS : JL_TCP_FIN_LINGER_NS);
		__u32 flag = class == JL_FLOW_RST ? JL_FLOW_F_RST : JL_FLOW_F_FIN;

		if (!(flow->flags & (JL_FLOW_F_FIN | JL_FLOW_F_RST)) ||
		    (__s64)(deadline - flow->time_ns) < 0)
			flow->time_ns = deadline;
		asm volatile("" ::: "memory");
		flow->flags |= flag;
	}
}

/* Remember (or replace) the backend of a flow. A full table evicts the least
 * recently used entry; a failure only costs stickiness, so it is not counted. */
JL_INLINE void jl_flow_remember(const struct jl_flow_key *key, __u32 backend_id, __u32 service_id,
                                __u64 time_ns)
{
	struct jl_flow flow = {
	        .backend_id = backend_id,
	        .service_id = service_id,
	        .time_ns = time_ns,
	};

	bpf_map_update_elem(&jl_flows, key, &flow, BPF_ANY);
}

/* A SYN over the flood rate is not remembered; the entry of the tuple's previous
 * connection must not then take the rest of the new one elsewhere. */
JL_INLINE void jl_flow_forget(const struct jl_flow_key *key)
{
	bpf_map_delete_elem(&jl_flows, key);
}

#endif /* JULIER_LIB_CONNTRACK_H */
