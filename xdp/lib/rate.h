/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Per-CPU rates in fixed one-second windows (flood protection's connection-table
 * writes, the ICMP answers). Per CPU, so no atomics and no shared cache line.
 */
#ifndef JULIER_LIB_RATE_H
#define JULIER_LIB_RATE_H

#include "lib/common.h"

/*
 * 1: the event fits this CPU's window (and is counted in it); 0: the window already
 * holds `rate` events. A window older than a second starts again.
 */
JL_INLINE int jl_window_admit(__u64 *start_ns, __u64 *count, __u32 rate)
{
	/* A tick's resolution (CLOCK_MONOTONIC_COARSE) against a one-second window. */
	__u64 now = bpf_ktime_get_coarse_ns();

	if (now - *start_ns >= JL_FLOOD_WINDOW_NS) {
		*start_ns = now;
		*count = 0;
	}
	if (*count >= rate)
		return 0;
	(*count)++;
	return 1;
}

#endif /* JULIER_LIB_RATE_H */
