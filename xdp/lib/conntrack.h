/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The connection table: jl_flows (LRU) maps a flow as the client sent it to the
 * backend id and service id it was given. Backend ids are stable across catalogue
 * generations, so an entry stays meaningful when the ring changes; whether the
 * backend still takes the flow is decided against the live side (see
 * jl_flow_backend).
 */
#ifndef JULIER_LIB_CONNTRACK_H
#define JULIER_LIB_CONNTRACK_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/catalogue.h"

/*
 * The backend an established flow keeps on this side, or NULL if the flow must be
 * (re-)picked: no entry, an entry of another service, or a backend that is gone,
 * now belongs elsewhere, or is down (JL_BACKEND_F_KEEP_FLOWS clear). A draining
 * backend keeps the flag, so its flows stay although it left the ring.
 */
JL_INLINE struct jl_backend *jl_flow_backend(const struct jl_flow_key *key,
                                             const struct jl_vip *vip, __u32 side,
                                             __u32 *backend_id)
{
	struct jl_flow *flow = bpf_map_lookup_elem(&jl_flows, key);
	struct jl_backend *be;

	if (!flow)
		return NULL;
	be = jl_backend_lookup(side, flow->backend_id);
	if (!jl_flow_keeps(flow->service_id, be, vip->service_id))
		return NULL;
	*backend_id = flow->backend_id;
	return be;
}

/* Remember (or replace) the backend of a flow. A full table evicts the least
 * recently used entry; a failure only costs stickiness, so it is not counted. */
JL_INLINE void jl_flow_remember(const struct jl_flow_key *key, __u32 backend_id, __u32 service_id)
{
	struct jl_flow flow = {
	        .backend_id = backend_id,
	        .service_id = service_id,
	};

	bpf_map_update_elem(&jl_flows, key, &flow, BPF_ANY);
}

#endif /* JULIER_LIB_CONNTRACK_H */
