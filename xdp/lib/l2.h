/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Ethernet addressing towards a backend (or its next hop) and the egress verdict.
 * In l2 mode this is the whole rewrite: the IP packet is untouched, like IPVS
 * direct routing.
 */
#ifndef JULIER_LIB_L2_H
#define JULIER_LIB_L2_H

#include "lib/common.h"
#include "lib/stats.h"

JL_INLINE int jl_mac_is_zero(const __u8 *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

/*
 * Destination: the backend's MAC (l2) or its next hop's (encapsulation). Source: our
 * MAC on the egress device if the backend entry names it, else the address the
 * frame was sent to (right when leaving through the receiving device).
 * received_dst must not overlap eth->h_source.
 */
JL_INLINE void jl_set_macs(struct ethhdr *eth, const struct jl_backend *be,
                           const __u8 *received_dst)
{
	if (jl_mac_is_zero(be->src_mac))
		__builtin_memcpy(eth->h_source, received_dst, ETH_ALEN);
	else
		__builtin_memcpy(eth->h_source, be->src_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, be->dst_mac, ETH_ALEN);
}

/* l2 mode: rewrite the Ethernet addresses in place. */
JL_INLINE int jl_l2_rewrite(struct xdp_md *ctx, const struct jl_backend *be)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return -1;
	jl_set_macs(eth, be, eth->h_dest);
	return 0;
}

/* Out the receiving device (ifindex 0) or another one. */
JL_INLINE int jl_egress(const struct jl_backend *be, enum jl_counter tx, enum jl_counter redirect,
                        __u64 bytes)
{
	if (be->ifindex == 0)
		return jl_verdict(tx, bytes, XDP_TX);
	jl_verdict(redirect, bytes, 0);
	return bpf_redirect(be->ifindex, 0);
}

#endif /* JULIER_LIB_L2_H */
