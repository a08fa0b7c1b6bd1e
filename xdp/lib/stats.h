/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Counters. Every verdict bumps exactly one jl_counters entry; packets that reach a
 * backend also count for their service and backend. Bytes are always the frame
 * length as received, so the three views add up to the same traffic.
 */
#ifndef JULIER_LIB_STATS_H
#define JULIER_LIB_STATS_H

#include "lib/common.h"
#include "lib/maps.h"

/* Count a forwarder verdict and hand it back, so a return site reads `return jl_verdict(...)`. */
JL_INLINE int jl_verdict(enum jl_counter counter, __u64 bytes, int action)
{
	return jl_count_verdict(&jl_counters, counter, bytes, action);
}

/* Traffic a service sent to a backend; new_flow when a jl_flows entry of a new flow
 * was written, nonsyn_miss when a TCP packet that opens nothing found no entry. */
JL_INLINE void jl_count_delivery(__u32 service_id, __u32 backend_id, __u64 bytes, int new_flow,
                                 int nonsyn_miss)
{
	struct jl_service_traffic *s = bpf_map_lookup_elem(&jl_service_stats, &service_id);
	struct jl_backend_traffic *b = bpf_map_lookup_elem(&jl_backend_stats, &backend_id);

	if (s) {
		s->packets++;
		s->bytes += bytes;
		s->new_flows += new_flow;
		s->nonsyn_miss += nonsyn_miss;
	}
	if (b) {
		b->packets++;
		b->bytes += bytes;
		b->new_flows += new_flow;
	}
}

#endif /* JULIER_LIB_STATS_H */
