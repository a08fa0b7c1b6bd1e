/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* XDP_PASS on the switch port facing a balancer: frames sent with XDP_TX (or
 * redirected) into a veth only arrive when the peer runs an XDP program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md* ctx) {
    (void)ctx;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
