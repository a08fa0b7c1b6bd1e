/* SPDX-License-Identifier: Apache-2.0 OR (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The flow hash (jl_hash_flow, jl_hash_source, jl_hash_pair, jl_ring_hash). Its code
 * lives in <julier/flow_pick.h>, shared with the control plane, which computes the
 * same picks for `julierctl which`; docs/forwarder.md, "Flow hash", describes it.
 */
#ifndef JULIER_LIB_HASH_H
#define JULIER_LIB_HASH_H

#include "lib/common.h"
#include <julier/flow_pick.h>

#endif /* JULIER_LIB_HASH_H */
