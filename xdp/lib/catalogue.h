/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The catalogue as the datapath sees it: services (jl_vips, jl_frag_vips), Maglev
 * rings (jl_rings) and backends (jl_backends), each double-buffered by side. A
 * packet reads jl_active once and does every lookup on that one side, so an apply
 * (write the other side, then flip jl_active) is atomic for it.
 */
#ifndef JULIER_LIB_CATALOGUE_H
#define JULIER_LIB_CATALOGUE_H

#include "lib/common.h"
#include "lib/maps.h"
#include <julier/flow_pick.h>

/* Side of the live generation. */
JL_INLINE __u32 jl_active_side(void)
{
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&jl_active, &zero);

	return gen ? (*gen & 1) : 0;
}

/* 0 when the filter proves addr is no VIP address on this side (abi.h,
 * jl_vip_filter); 1 when it may be one, or the filter is not written. */
JL_INLINE int jl_may_be_vip_address(const __u32 *addr, __u32 side)
{
	__u32 idx = jl_vip_filter_index(addr, side);
	__u64 *word = bpf_map_lookup_elem(&jl_vip_filter, &idx);

	if (!word || !(*word & JL_VIP_FILTER_WRITTEN))
		return 1;
	return (*word & jl_vip_filter_mask(addr)) != 0;
}

/* The service at dst:dport/proto, else the address's every-port (port 0) service. */
JL_INLINE struct jl_vip *jl_service_lookup(const struct jl_flow_key *f, __u32 side)
{
	struct jl_vip_key key;
	struct jl_vip *vip;

	jl_service_key(&key, f, side, f->dport);
	vip = bpf_map_lookup_elem(&jl_vips, &key);
	if (vip)
		return vip;
	key.port = 0;
	return bpf_map_lookup_elem(&jl_vips, &key);
}

/* The service that takes fragments for addr/proto; also "is addr a VIP address". */
JL_INLINE struct jl_vip *jl_frag_service_lookup(const __u32 *addr, __u8 proto, __u8 family,
                                                __u32 side)
{
	struct jl_vip_key key;

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	key.port = 0;
	key.proto = proto;
	key.family = family;
	key.side = side;
	return bpf_map_lookup_elem(&jl_frag_vips, &key);
}

/* Is addr the address of some TCP or UDP service (for packets whose protocol is
 * unknown or not TCP/UDP)? */
JL_INLINE int jl_is_vip_address(const __u32 *addr, __u8 family, __u32 side)
{
	return jl_frag_service_lookup(addr, IPPROTO_TCP, family, side) ||
	       jl_frag_service_lookup(addr, IPPROTO_UDP, family, side);
}

/* Does the address answer ping? JL_VIP_F_ANSWER_PING of its fragment entries: the
 * control plane sets it on every service of an address or on none. */
JL_INLINE int jl_answers_ping(const __u32 *addr, __u8 family, __u32 side)
{
	struct jl_vip *vip = jl_frag_service_lookup(addr, IPPROTO_TCP, family, side);

	if (!vip)
		vip = jl_frag_service_lookup(addr, IPPROTO_UDP, family, side);
	return vip && (vip->flags & JL_VIP_F_ANSWER_PING);
}

/* Backend id on one side; NULL if the id is out of range. */
JL_INLINE struct jl_backend *jl_backend_lookup(__u32 side, __u32 backend_id)
{
	__u32 idx;

	if (backend_id >= jl_cfg_max_backends)
		return NULL;
	idx = side * jl_cfg_max_backends + backend_id;
	return bpf_map_lookup_elem(&jl_backends, &idx);
}

/* Ring slot hash % ring_size of the service -> backend id (the slot from
 * jl_ring_index). Returns 0, or -1 if the service's ring does not fit in the side's
 * capacity (a corrupt catalogue). The caller checks ring_size != 0. */
JL_INLINE int jl_ring_backend(const struct jl_vip *vip, __u32 side, __u32 hash, __u32 *backend_id)
{
	__u32 idx;
	__u32 *id;

	if (jl_ring_index(vip, side, hash, jl_cfg_ring_capacity, &idx))
		return -1;
	id = bpf_map_lookup_elem(&jl_rings, &idx);
	if (!id)
		return -1;
	*backend_id = *id;
	return 0;
}

#endif /* JULIER_LIB_CATALOGUE_H */
