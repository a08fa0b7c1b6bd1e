/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The pure parts of the forwarder's backend choice, compiled both as BPF C (the
 * forwarder, xdp/lib/hash.h, catalogue.h, conntrack.h) and as C++ (`julierctl
 * which`, control/dataplane/flow_pick.cpp), so the two cannot drift: the flow hash,
 * which hash a service's ring uses, the ring slot a hash selects, the service key a
 * flow looks up, when an entry has expired and the rule by which an established flow
 * keeps its backend. No map
 * access here; the callers do the lookups.
 *
 * The flow hash: Bob Jenkins' lookup3 hashword() over 32-bit words, seeded with
 * JL_HASH_SEED. Every input word is the host-order value of a wire field, so the
 * same flow hashes the same on every box of a fleet, whatever its byte order; with
 * the same Maglev ring the flow then reaches the same backend through any box.
 *
 * Inputs (docs/forwarder.md, "Flow hash"):
 *   flow:   src, dst, sport << 16 | dport, proto   (IPv6: 4 + 4 address words)
 *   source: src                                      (source affinity)
 *   no source port: src, dst, dport, proto           (the flow's with sport 0)
 *   destination port: dport, proto
 *   pair:   src, dst                                 (fragments)
 */
#ifndef JULIER_FLOW_PICK_H
#define JULIER_FLOW_PICK_H

#include <julier/abi.h>

#define JL_PICK_INLINE static inline __attribute__((always_inline))

#if defined(__clang__)
#define JL_PICK_UNROLL _Pragma("unroll")
#else
#define JL_PICK_UNROLL
#endif

/* Network to host order of 32/16-bit wire fields (the same on BPF and the host). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define jl_pick_ntohl(x) __builtin_bswap32(x)
#define jl_pick_ntohs(x) __builtin_bswap16(x)
#else
#define jl_pick_ntohl(x) (x)
#define jl_pick_ntohs(x) (x)
#endif

#define JL_HASH_INIT 0xdeadbeefu /* lookup3's initial value */

JL_PICK_INLINE __u32 jl_rol32(__u32 x, int k)
{
	return (x << k) | (x >> (32 - k));
}

#define JL_HASH_MIX(a, b, c)                                                                       \
	do {                                                                                       \
		a -= c;                                                                            \
		a ^= jl_rol32(c, 4);                                                               \
		c += b;                                                                            \
		b -= a;                                                                            \
		b ^= jl_rol32(a, 6);                                                               \
		a += c;                                                                            \
		c -= b;                                                                            \
		c ^= jl_rol32(b, 8);                                                               \
		b += a;                                                                            \
		a -= c;                                                                            \
		a ^= jl_rol32(c, 16);                                                              \
		c += b;                                                                            \
		b -= a;                                                                            \
		b ^= jl_rol32(a, 19);                                                              \
		a += c;                                                                            \
		c -= b;                                                                            \
		c ^= jl_rol32(b, 4);                                                               \
		b += a;                                                                            \
	} while (0)

#define JL_HASH_FINAL(a, b, c)                                                                     \
	do {                                                                                       \
		c ^= b;                                                                            \
		c -= jl_rol32(b, 14);                                                              \
		a ^= c;                                                                            \
		a -= jl_rol32(c, 11);                                                              \
		b ^= a;                                                                            \
		b -= jl_rol32(a, 25);                                                              \
		c ^= b;                                                                            \
		c -= jl_rol32(b, 16);                                                              \
		a ^= c;                                                                            \
		a -= jl_rol32(c, 4);                                                               \
		b ^= a;                                                                            \
		b -= jl_rol32(a, 14);                                                              \
		c ^= b;                                                                            \
		c -= jl_rol32(b, 24);                                                              \
	} while (0)

/* lookup3 hashword(k, n, JL_HASH_SEED); n is a constant at every call site. */
JL_PICK_INLINE __u32 jl_hash_words(const __u32 *k, int n)
{
	__u32 a, b, c;

	a = b = c = JL_HASH_INIT + ((__u32)n << 2) + JL_HASH_SEED;
	JL_PICK_UNROLL
	for (int i = 0; i < 4; i++) {
		if (n <= 3)
			break;
		a += k[0];
		b += k[1];
		c += k[2];
		JL_HASH_MIX(a, b, c);
		n -= 3;
		k += 3;
	}
	switch (n) {
	case 3:
		c += k[2];
		/* fallthrough */
	case 2:
		b += k[1];
		/* fallthrough */
	case 1:
		a += k[0];
		JL_HASH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

/* Address words of a flow key in host order (IPv4: one word). */
JL_PICK_INLINE void jl_hash_addr(__u32 *w, const __u32 *addr, __u8 family)
{
	w[0] = jl_pick_ntohl(addr[0]);
	if (family == JL_FAMILY_V6) {
		w[1] = jl_pick_ntohl(addr[1]);
		w[2] = jl_pick_ntohl(addr[2]);
		w[3] = jl_pick_ntohl(addr[3]);
	}
}

/* The 5-tuple with the given source port (host order). */
JL_PICK_INLINE __u32 jl_hash_tuple(const struct jl_flow_key *f, __u16 sport)
{
	__u32 w[10];
	__u32 ports = (__u32)sport << 16 | jl_pick_ntohs(f->dport);

	if (f->family == JL_FAMILY_V6) {
		jl_hash_addr(&w[0], f->src, JL_FAMILY_V6);
		jl_hash_addr(&w[4], f->dst, JL_FAMILY_V6);
		w[8] = ports;
		w[9] = f->proto;
		return jl_hash_words(w, 10);
	}
	w[0] = jl_pick_ntohl(f->src[0]);
	w[1] = jl_pick_ntohl(f->dst[0]);
	w[2] = ports;
	w[3] = f->proto;
	return jl_hash_words(w, 4);
}

/* The 5-tuple: chooses a new flow's backend, and the entropy of outer headers. */
JL_PICK_INLINE __u32 jl_hash_flow(const struct jl_flow_key *f)
{
	return jl_hash_tuple(f, jl_pick_ntohs(f->sport));
}

/* The 5-tuple without the source port: every connection of a client to one
 * destination port reaches the same backend. */
JL_PICK_INLINE __u32 jl_hash_no_source_port(const struct jl_flow_key *f)
{
	return jl_hash_tuple(f, 0);
}

/* Destination port and protocol: every flow to one port reaches the same backend
 * (an every-port service spreads its ports over the backends). */
JL_PICK_INLINE __u32 jl_hash_destination_port(const struct jl_flow_key *f)
{
	__u32 w[2];

	w[0] = jl_pick_ntohs(f->dport);
	w[1] = f->proto;
	return jl_hash_words(w, 2);
}

/* Source address only: every flow of one client reaches the same backend. */
JL_PICK_INLINE __u32 jl_hash_source(const struct jl_flow_key *f)
{
	__u32 w[4];

	if (f->family == JL_FAMILY_V6) {
		jl_hash_addr(w, f->src, JL_FAMILY_V6);
		return jl_hash_words(w, 4);
	}
	w[0] = jl_pick_ntohl(f->src[0]);
	return jl_hash_words(w, 1);
}

/* Address pair: every fragment of a datagram (ports are only in the first). */
JL_PICK_INLINE __u32 jl_hash_pair(const struct jl_flow_key *f)
{
	__u32 w[8];

	if (f->family == JL_FAMILY_V6) {
		jl_hash_addr(&w[0], f->src, JL_FAMILY_V6);
		jl_hash_addr(&w[4], f->dst, JL_FAMILY_V6);
		return jl_hash_words(w, 8);
	}
	w[0] = jl_pick_ntohl(f->src[0]);
	w[1] = jl_pick_ntohl(f->dst[0]);
	return jl_hash_words(w, 2);
}

/* The hash a service's ring is indexed with for a new flow (jl_vip.flags). */
JL_PICK_INLINE __u32 jl_ring_hash(const struct jl_flow_key *f, __u16 vip_flags)
{
	if (vip_flags & JL_VIP_F_SOURCE_AFFINITY)
		return jl_hash_source(f);
	if (vip_flags & JL_VIP_F_HASH_NO_SOURCE_PORT)
		return jl_hash_no_source_port(f);
	if (vip_flags & JL_VIP_F_HASH_DESTINATION_PORT)
		return jl_hash_destination_port(f);
	return jl_hash_flow(f);
}

/* The jl_rings index of the slot `hash` selects in the service's ring on `side`
 * (ring_capacity slots per side). Returns 0, or -1 if the service's ring does not
 * fit in the side's capacity (a corrupt catalogue). The caller checks
 * ring_size != 0. */
JL_PICK_INLINE int jl_ring_index(const struct jl_vip *vip, __u32 side, __u32 hash,
                                 __u32 ring_capacity, __u32 *index)
{
	__u32 slot = hash % vip->ring_size;
	__u32 pos = vip->ring_offset + slot;

	if (pos >= ring_capacity || pos < slot)
		return -1;
	*index = side * ring_capacity + pos;
	return 0;
}

/* The jl_vips key of the service a flow is for on `side`: its destination, protocol
 * and `port` (the flow's dport first, then 0 for the address's every-port service). */
JL_PICK_INLINE void jl_service_key(struct jl_vip_key *key, const struct jl_flow_key *f, __u32 side,
                                   __u16 port)
{
	key->addr[0] = f->dst[0];
	key->addr[1] = f->dst[1];
	key->addr[2] = f->dst[2];
	key->addr[3] = f->dst[3];
	key->port = port;
	key->proto = f->proto;
	key->family = f->family;
	key->side = side;
}

/* A backend entry serves the service: present and owned by it. */
JL_PICK_INLINE int jl_backend_serves(const struct jl_backend *be, __u32 service_id)
{
	return be && be->family != 0 && be->service_id == service_id;
}

/* An established flow keeps the backend of its connection-table entry when the entry
 * is of this service and its backend serves the service and keeps flows
 * (JL_BACKEND_F_KEEP_FLOWS: up or draining). `be` is the entry's backend on the live
 * side (NULL if out of range). */
JL_PICK_INLINE int jl_flow_keeps(__u32 entry_service_id, const struct jl_backend *be,
                                 __u32 service_id)
{
	return entry_service_id == service_id && jl_backend_serves(be, service_id) &&
	       (be->flags & JL_BACKEND_F_KEEP_FLOWS);
}

/* Whether an entry's time_ns matters: UDP (last seen) and TCP after a FIN or RST (the
 * end of its linger). */
JL_PICK_INLINE int jl_flow_timed(const struct jl_flow *flow, __u8 proto)
{
	return proto == 17 /* IPPROTO_UDP */ || (flow->flags & (JL_FLOW_F_FIN | JL_FLOW_F_RST));
}

/*
 * A timed entry counts as absent at `now` (CLOCK_MONOTONIC_COARSE, bpf_ktime_get_coarse_ns()): UDP
 * idle longer than the service's udp_idle_timeout_ms (0: never), TCP past its linger.
 * Times compare signed, so an entry another CPU stamped just after this packet read
 * the clock is fresh, not ancient.
 */
JL_PICK_INLINE int jl_flow_expired(const struct jl_flow *flow, __u8 proto,
                                   __u32 udp_idle_timeout_ms, __u64 now)
{
	if (proto == 17 /* IPPROTO_UDP */) {
		__u64 timeout = (__u64)udp_idle_timeout_ms * 1000000ull;

		return timeout && (__s64)(now - flow->time_ns) > (__s64)timeout;
	}
	if (flow->flags & (JL_FLOW_F_FIN | JL_FLOW_F_RST))
		return (__s64)(now - flow->time_ns) >= 0;
	return 0;
}

#endif /* JULIER_FLOW_PICK_H */
