/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The forwarder's maps and load-time configuration (names and layouts: abi.h).
 * The max_entries below are small defaults so that a bare load is cheap; the
 * control plane sizes every map with bpf_map__set_max_entries before load and sets
 * the two .rodata values to match jl_rings and jl_backends.
 */
#ifndef JULIER_LIB_MAPS_H
#define JULIER_LIB_MAPS_H

#include "lib/common.h"

#define JL_LOAD_DEFAULT_SERVICES 64u
#define JL_LOAD_DEFAULT_BACKENDS 256u
#define JL_LOAD_DEFAULT_RING_CAPACITY 4096u
#define JL_LOAD_DEFAULT_FLOWS 4096u

/* Backend ids per side: jl_backends holds JL_SIDES * jl_cfg_max_backends entries. */
const volatile __u32 jl_cfg_max_backends = JL_LOAD_DEFAULT_BACKENDS;
/* Ring slots per side: jl_rings holds JL_SIDES * jl_cfg_ring_capacity entries. */
const volatile __u32 jl_cfg_ring_capacity = JL_LOAD_DEFAULT_RING_CAPACITY;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jl_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jl_meta);
} jl_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JL_SIDES *JL_LOAD_DEFAULT_SERVICES);
	__type(key, struct jl_vip_key);
	__type(value, struct jl_vip);
} jl_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JL_SIDES *JL_LOAD_DEFAULT_SERVICES);
	__type(key, struct jl_vip_key);
	__type(value, struct jl_vip);
} jl_frag_vips SEC(".maps");

/* Memory-mappable so that the control plane writes whole rings with plain stores
 * instead of one bpf(2) element copy per slot; lookups are the same. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, JL_SIDES *JL_LOAD_DEFAULT_RING_CAPACITY);
	__type(key, __u32);
	__type(value, __u32);
} jl_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, JL_SIDES *JL_LOAD_DEFAULT_BACKENDS);
	__type(key, __u32);
	__type(value, struct jl_backend);
} jl_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, JL_LOAD_DEFAULT_FLOWS);
	__type(key, struct jl_flow_key);
	__type(value, struct jl_flow);
} jl_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, JL_LOAD_DEFAULT_SERVICES);
	__type(key, __u32);
	__type(value, struct jl_service_traffic);
} jl_service_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, JL_LOAD_DEFAULT_BACKENDS);
	__type(key, __u32);
	__type(value, struct jl_backend_traffic);
} jl_backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, JL_CNT_COUNT);
	__type(key, __u32);
	__type(value, struct jl_traffic);
} jl_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, JL_SIDES *JL_VIP_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} jl_vip_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, JL_SIDES);
	__type(key, __u32);
	__type(value, struct jl_settings);
} jl_settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jl_flood_window);
} jl_flood_window SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jl_icmp_window);
} jl_icmp_window SEC(".maps");

#endif /* JULIER_LIB_MAPS_H */
