/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * New-flow flood protection. Each CPU admits at most jl_settings.flood_new_flow_rate
 * writes to jl_flows per fixed one-second window (the idea of Katran's
 * is_under_flood). A flow over the budget is still forwarded by its Maglev pick,
 * only not remembered, so a burst of distinct flows cannot push established flows
 * out of the LRU table. Per CPU, so no atomics and no shared cache line.
 */
#ifndef JULIER_LIB_FLOOD_H
#define JULIER_LIB_FLOOD_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/rate.h"

/* 1: remember this flow (and charge it to the window); 0: over the rate. */
JL_INLINE int jl_flood_admit(__u32 side)
{
	struct jl_settings *settings = bpf_map_lookup_elem(&jl_settings, &side);
	struct jl_flood_window *w;
	__u32 zero = 0;

	if (!settings || settings->flood_new_flow_rate == 0)
		return 1;
	w = bpf_map_lookup_elem(&jl_flood_window, &zero);
	return !w || jl_window_admit(&w->start_ns, &w->remembered, settings->flood_new_flow_rate);
}

#endif /* JULIER_LIB_FLOOD_H */
