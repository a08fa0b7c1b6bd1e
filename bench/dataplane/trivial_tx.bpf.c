/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The yardstick of the data-plane benchmark: the least an XDP program that answers
 * out of the receiving device can do (bounds check, swap the MAC addresses, XDP_TX).
 * Forwarder costs are reported as a ratio to this, measured in the same run.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int julier_bench_trivial_tx(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;
    __u8 tmp[ETH_ALEN];

    if ((void*)(eth + 1) > end) return XDP_DROP;
    __builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
    return XDP_TX;
}
