/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Internet checksums (RFC 1071, RFC 1624).
 *
 * Sums are kept in memory byte order: 16- or 32-bit words are loaded as they lie in
 * the packet and added into a 64-bit accumulator; the folded 16 bits are stored
 * back as they are. One's-complement addition makes this independent of the host's
 * byte order, so only constants (protocol numbers, lengths) need bpf_htons().
 */
#ifndef JULIER_LIB_CSUM_H
#define JULIER_LIB_CSUM_H

#include "lib/common.h"

/* Returned by jl_csum_frame when the range is not inside the frame. */
#define JL_CSUM_ERR 0xffffffffu

/* 64-bit accumulator -> 16-bit one's-complement sum (not inverted). */
JL_INLINE __u16 jl_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Checksum field value for a sum. */
JL_INLINE __u16 jl_csum_finish(__u64 sum)
{
	return (__u16)~jl_csum_fold(sum);
}

/* Sum of n 32-bit words (n constant at every call site, so this unrolls). */
JL_INLINE __u64 jl_csum_words(const void *p, int n)
{
	const jl_word32 *w = p;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

/* RFC 1624 eqn. 3: checksum after a 16-bit word of the covered data changed. */
JL_INLINE __u16 jl_csum_replace16(__u16 check, __u16 from, __u16 to)
{
	__u64 sum = (__u16)~check;

	sum += (__u16)~from;
	sum += to;
	return jl_csum_finish(sum);
}

/* RFC 1624 eqn. 3 for several words at once: `from` and `to` are the sums (as from
 * jl_csum_words) of the covered words before and after they changed. */
JL_INLINE __u16 jl_csum_replace(__u16 check, __u64 from, __u64 to)
{
	__u64 sum = (__u16)~check;

	sum += (__u16)~jl_csum_fold(from);
	sum += jl_csum_fold(to);
	return jl_csum_finish(sum);
}

/*
 * One's-complement sum (folded, not inverted) of len bytes of the frame starting at
 * off, for lengths only known at run time (fragments, ICMP quotes). A global
 * function, so the verifier walks its bounded loop once, not at every call site.
 */
__noinline __u32 jl_csum_frame(struct xdp_md *ctx, __u32 off, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 sum = 0;
	void *p;

	if (len > JL_MAX_FRAME_BYTES)
		return JL_CSUM_ERR;
	for (__u32 i = 0; i < JL_MAX_FRAME_BYTES / 32; i++) {
		if (len < 32)
			break;
		/* Keep the offset opaque to the compiler: derived loop bounds would
		 * need arithmetic on data_end, which the verifier refuses. */
		asm volatile("" : "+r"(off));
		if (off > JL_MAX_FRAME_BYTES)
			return JL_CSUM_ERR;
		p = data + off;
		if (p + 32 > end)
			return JL_CSUM_ERR;
		sum += jl_csum_words(p, 8);
		off += 32;
		len -= 32;
	}
	if (off > JL_MAX_FRAME_BYTES)
		return JL_CSUM_ERR;
	p = data + off;
	if (len & 16) {
		if (p + 16 > end)
			return JL_CSUM_ERR;
		sum += jl_csum_words(p, 4);
		p += 16;
	}
	if (len & 8) {
		if (p + 8 > end)
			return JL_CSUM_ERR;
		sum += jl_csum_words(p, 2);
		p += 8;
	}
	if (len & 4) {
		if (p + 4 > end)
			return JL_CSUM_ERR;
		sum += jl_csum_words(p, 1);
		p += 4;
	}
	if (len & 2) {
		if (p + 2 > end)
			return JL_CSUM_ERR;
		sum += *(const jl_word16 *)p;
		p += 2;
	}
	if (len & 1) {
		if (p + 1 > end)
			return JL_CSUM_ERR;
		/* A last odd byte is the high byte of a word padded with zero. */
		sum += bpf_htons((__u16)(*(__u8 *)p) << 8);
	}
	return jl_csum_fold(sum);
}

#endif /* JULIER_LIB_CSUM_H */
