/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The flow hash: Bob Jenkins' lookup3 hashword() over 32-bit words, seeded with
 * JL_HASH_SEED. Every input word is the host-order value of a wire field, so the
 * same flow hashes the same on every box of a fleet, whatever its byte order; with
 * the same Maglev ring the flow then reaches the same backend through any box.
 *
 * Inputs (docs/forwarder.md, "Flow hash"):
 *   flow:   src, dst, sport << 16 | dport, proto   (IPv6: 4 + 4 address words)
 *   source: src                                      (source affinity)
 *   pair:   src, dst                                 (fragments)
 */
#ifndef JULIER_LIB_HASH_H
#define JULIER_LIB_HASH_H

#include "lib/common.h"

#define JL_HASH_INIT 0xdeadbeefu /* lookup3's initial value */

JL_INLINE __u32 jl_rol32(__u32 x, int k)
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
JL_INLINE __u32 jl_hash_words(const __u32 *k, int n)
{
	__u32 a, b, c;

	a = b = c = JL_HASH_INIT + ((__u32)n << 2) + JL_HASH_SEED;
#pragma unroll
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
JL_INLINE void jl_hash_addr(__u32 *w, const __u32 *addr, __u8 family)
{
	w[0] = bpf_ntohl(addr[0]);
	if (family == JL_FAMILY_V6) {
		w[1] = bpf_ntohl(addr[1]);
		w[2] = bpf_ntohl(addr[2]);
		w[3] = bpf_ntohl(addr[3]);
	}
}

/* The 5-tuple: chooses a new flow's backend, and the entropy of outer headers. */
JL_INLINE __u32 jl_hash_flow(const struct jl_flow_key *f)
{
	__u32 w[10];
	__u32 ports = (__u32)bpf_ntohs(f->sport) << 16 | bpf_ntohs(f->dport);

	if (f->family == JL_FAMILY_V6) {
		jl_hash_addr(&w[0], f->src, JL_FAMILY_V6);
		jl_hash_addr(&w[4], f->dst, JL_FAMILY_V6);
		w[8] = ports;
		w[9] = f->proto;
		return jl_hash_words(w, 10);
	}
	w[0] = bpf_ntohl(f->src[0]);
	w[1] = bpf_ntohl(f->dst[0]);
	w[2] = ports;
	w[3] = f->proto;
	return jl_hash_words(w, 4);
}

/* Source address only: every flow of one client reaches the same backend. */
JL_INLINE __u32 jl_hash_source(const struct jl_flow_key *f)
{
	__u32 w[4];

	if (f->family == JL_FAMILY_V6) {
		jl_hash_addr(w, f->src, JL_FAMILY_V6);
		return jl_hash_words(w, 4);
	}
	w[0] = bpf_ntohl(f->src[0]);
	return jl_hash_words(w, 1);
}

/* Address pair: every fragment of a datagram (ports are only in the first). */
JL_INLINE __u32 jl_hash_pair(const struct jl_flow_key *f)
{
	__u32 w[8];

	if (f->family == JL_FAMILY_V6) {
		jl_hash_addr(&w[0], f->src, JL_FAMILY_V6);
		jl_hash_addr(&w[4], f->dst, JL_FAMILY_V6);
		return jl_hash_words(w, 8);
	}
	w[0] = bpf_ntohl(f->src[0]);
	w[1] = bpf_ntohl(f->dst[0]);
	return jl_hash_words(w, 2);
}

#endif /* JULIER_LIB_HASH_H */
