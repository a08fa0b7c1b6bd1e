// The apply protocol's bookkeeping without BPF: which writes a plan needs on one
// side, given what that side holds, and where rings go.
#include <algorithm>
#include <cstring>
#include <set>

#include <catch2/catch.hpp>

#include "dataplane/side_image.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;
using dataplane::Limits;
using dataplane::RingLayout;
using dataplane::SideImage;
using dataplane::SideWrites;

namespace {

Limits limits(std::uint32_t ring_capacity = 4096) {
    Limits l;
    l.max_services = 16;
    l.max_backends = 64;
    l.ring_capacity = ring_capacity;
    l.max_flows = 1024;
    return l;
}

plan::Plan three_services() {
    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")}),
                          service("b", "198.19.0.1", 443, {backend("198.18.0.20")}),
                          service("c", "198.19.0.2", 53, {backend("198.18.0.22")}, config::Protocol::udp)});
    return plan::make_plan(cat, all_resolved(cat));
}

// Apply writes to an image the way the maps would take them, independently of
// plan_side_writes' own result, to check that result.
SideImage replay(SideImage side, const SideWrites& w, std::uint32_t side_no,
                 std::map<std::uint32_t, std::uint32_t>& slots) {
    for (const auto& [key, value] : w.vip_updates) side.vips[key] = value;
    for (const auto& key : w.vip_deletes) side.vips.erase(key);
    for (const auto& [key, value] : w.frag_updates) side.frag_vips[key] = value;
    for (const auto& key : w.frag_deletes) side.frag_vips.erase(key);
    for (const auto& [id, entry] : w.backend_writes) {
        if (entry.family == 0) {
            side.backends.erase(id);
        } else {
            side.backends[id] = entry;
        }
    }
    for (const auto& range : w.ring_ranges) {
        for (std::size_t i = 0; i < range.slots.size(); ++i)
            slots[range.offset + static_cast<std::uint32_t>(i)] = range.slots[i];
    }
    for (const auto& [slot, id] : w.ring_writes) slots[slot] = id;
    for (const auto& [key, value] : side.vips) REQUIRE(key.side == side_no);
    return side;
}

}  // namespace

TEST_CASE("RingLayout places ranges first fit", "[dataplane][side]") {
    RingLayout layout(100);
    CHECK(layout.allocate(10) == 0u);
    CHECK(layout.allocate(20) == 10u);
    layout.reserve(50, 10);
    CHECK(layout.allocate(20) == 30u);  // fits exactly before 50
    CHECK(layout.allocate(30) == 60u);
    CHECK(layout.allocate(11) == std::nullopt);  // 10 left at 90
    CHECK(layout.allocate(10) == 90u);
    CHECK(layout.allocate(0) == std::nullopt);
}

TEST_CASE("first write of an empty side writes everything, rings packed from slot 0", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites w = dataplane::plan_side_writes(SideImage{}, p, 1, limits());

    CHECK_FALSE(w.relaid_out);
    CHECK(w.vip_updates.size() == 3);
    CHECK(w.vip_deletes.empty());
    CHECK(w.frag_updates.size() == 2);  // (198.19.0.1, tcp) and (198.19.0.2, udp)
    CHECK(w.backend_writes.size() == 4);
    // Whole rings go as ranges, not as one pair per slot.
    CHECK(w.ring_writes.empty());
    CHECK(w.ring_ranges.size() == 3);
    CHECK(w.ring_slots() == 3 * 101);
    CHECK(w.filter_writes.size() == JL_VIP_FILTER_WORDS);
    // Each ring is contiguous, and together they cover [0, 303).
    std::set<std::uint32_t> slots;
    for (const auto& range : w.ring_ranges) {
        for (std::uint32_t i = 0; i < range.slots.size(); ++i) slots.insert(range.offset + i);
    }
    CHECK(slots.size() == 303);
    CHECK(*slots.rbegin() == 302);

    std::map<std::uint32_t, std::uint32_t> ring;
    SideImage after = replay(SideImage{}, w, 1, ring);
    for (const auto& s : p.services) {
        jl_vip_key key = s.vip_key;
        key.side = 1;
        REQUIRE(after.vips.count(key) == 1);
        const jl_vip& vip = after.vips.at(key);
        CHECK(vip.service_id == s.id);
        CHECK(vip.ring_size == 101);
        for (std::uint32_t i = 0; i < 101; ++i) {
            REQUIRE(ring.at(vip.ring_offset + i) == s.ring[i]);
        }
    }
    // The fragment entry of an address is a copy of its chosen service's entry.
    for (const auto& f : p.frag_vips) {
        jl_vip_key frag = f.key;
        frag.side = 1;
        jl_vip_key own = p.services[f.service].vip_key;
        own.side = 1;
        CHECK(after.frag_vips.at(frag) == after.vips.at(own));
    }
    CHECK(after.vips.size() == w.result.vips.size());
    CHECK(after.backends == w.result.backends);
}

TEST_CASE("a side that already holds the plan needs no writes", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites first = dataplane::plan_side_writes(SideImage{}, p, 0, limits());
    SideWrites again = dataplane::plan_side_writes(first.result, p, 0, limits());
    CHECK(again.empty());
}

TEST_CASE("a backend going down rewrites only the slots that moved", "[dataplane][side]") {
    auto cat = catalogue(
        {service("a", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21"), backend("198.18.0.22")}),
         service("b", "198.19.0.1", 443, {backend("198.18.0.20")})});
    cat.services[0].health.kind = config::HealthKind::tcp;
    auto runtime = all_resolved(cat);
    for (const char* a : {"198.18.0.20", "198.18.0.21", "198.18.0.22"}) {
        runtime.health["a"][ip(a)].state = julier::health::State::up;
    }
    plan::Plan before = plan::make_plan(cat, runtime);
    runtime.health["a"][ip("198.18.0.22")].state = julier::health::State::down;
    plan::Plan after = plan::make_plan(cat, runtime, before.ids);

    SideWrites base = dataplane::plan_side_writes(SideImage{}, before, 0, limits());
    SideWrites w = dataplane::plan_side_writes(base.result, after, 0, limits());

    std::size_t moved = 0;
    for (std::size_t i = 0; i < before.services[0].ring.size(); ++i) {
        moved += before.services[0].ring[i] != after.services[0].ring[i];
    }
    CHECK(moved > 0);
    CHECK(w.ring_writes.size() == moved);
    CHECK(w.ring_ranges.empty());  // in place: single slots only
    CHECK(w.vip_updates.empty());  // same ring place, same settings
    CHECK(w.frag_updates.empty());
    CHECK(w.filter_writes.empty());
    REQUIRE(w.backend_writes.size() == 1);  // the down backend's flag
    CHECK(w.backend_writes[0].first == find_backend(after.services[0], "198.18.0.22").id);
    CHECK(w.backend_writes[0].second.flags == 0);
    CHECK(w.result.rings.at(after.services[0].id).offset == base.result.rings.at(before.services[0].id).offset);
}

TEST_CASE("removed services and backends are deleted; a freed range is reused", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites base = dataplane::plan_side_writes(SideImage{}, p, 0, limits());
    std::uint32_t b_offset = base.result.rings.at(p.find("b")->id).offset;

    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")}),
                          service("c", "198.19.0.2", 53, {backend("198.18.0.22")}, config::Protocol::udp),
                          service("d", "198.19.0.3", 80, {backend("198.18.0.23")})});
    plan::Plan next = plan::make_plan(cat, all_resolved(cat), p.ids);
    SideWrites w = dataplane::plan_side_writes(base.result, next, 0, limits());

    REQUIRE(w.vip_deletes.size() == 1);
    CHECK(w.vip_deletes[0].port == p.find("b")->vip_key.port);
    CHECK(w.vip_updates.size() == 1);  // d
    // b's backend id is cleared, d's is written.
    std::set<std::uint32_t> cleared, written;
    for (const auto& [id, entry] : w.backend_writes) (entry.family == 0 ? cleared : written).insert(id);
    CHECK(cleared == std::set<std::uint32_t>{find_backend(*p.find("b"), "198.18.0.20").id});
    CHECK(written == std::set<std::uint32_t>{find_backend(*next.find("d"), "198.18.0.23").id});
    // d (same size) lands where b was; a and c did not move.
    CHECK(w.result.rings.at(next.find("d")->id).offset == b_offset);
    REQUIRE(w.ring_ranges.size() == 1);  // d whole; a and c hold the same slots
    CHECK(w.ring_ranges[0].offset == b_offset);
    CHECK(w.ring_slots() == 101);
    CHECK(w.result.rings.at(next.find("a")->id).offset == base.result.rings.at(p.find("a")->id).offset);
}

TEST_CASE("when first fit fails the side is laid out afresh", "[dataplane][side]") {
    // Capacity 4 x 101: a b c d fill it; dropping b and d leaves two holes of 101,
    // and a service of ring 199 fits neither.
    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.20")}),
                          service("b", "198.19.0.2", 80, {backend("198.18.0.20")}),
                          service("c", "198.19.0.3", 80, {backend("198.18.0.20")}),
                          service("d", "198.19.0.4", 80, {backend("198.18.0.20")})});
    cat.limits.ring_capacity = 404;
    plan::Plan p = plan::make_plan(cat, all_resolved(cat));
    SideWrites base = dataplane::plan_side_writes(SideImage{}, p, 0, limits(404));

    auto big = service("e", "198.19.0.5", 80, {backend("198.18.0.20")});
    big.ring_size = 199;
    auto next_cat = catalogue({cat.services[0], cat.services[2], big});
    next_cat.limits.ring_capacity = 404;
    plan::Plan next = plan::make_plan(next_cat, all_resolved(next_cat), p.ids);
    SideWrites w = dataplane::plan_side_writes(base.result, next, 0, limits(404));

    CHECK(w.relaid_out);
    CHECK(w.ring_slots() == 101 + 101 + 199);
    CHECK(w.ring_writes.empty());
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
    for (const auto& [id, ring] : w.result.rings) ranges.emplace_back(ring.offset, ring.slots.size());
    std::sort(ranges.begin(), ranges.end());
    std::uint32_t next_free = 0;
    for (const auto& [offset, size] : ranges) {
        CHECK(offset == next_free);  // packed without gaps
        next_free = offset + size;
    }
    CHECK(next_free == 401);
}

TEST_CASE("a side of unknown ring content gets every ring whole", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites base = dataplane::plan_side_writes(SideImage{}, p, 1, limits());
    SideImage unknown = base.result;
    unknown.rings_known = false;
    SideWrites w = dataplane::plan_side_writes(unknown, p, 1, limits());
    CHECK(w.ring_ranges.size() == 3);
    CHECK(w.ring_slots() == 303);
    CHECK(w.vip_updates.empty());  // vips and backends were read back exactly
    CHECK(w.backend_writes.empty());
    CHECK(w.filter_writes.empty());
}

TEST_CASE("a plan beyond the loaded limits is refused", "[dataplane][side]") {
    plan::Plan p = three_services();
    Limits small = limits();
    small.max_backends = 3;  // the plan uses ids 0..3
    CHECK_THROWS_AS(dataplane::plan_side_writes(SideImage{}, p, 0, small), dataplane::DataplaneError);
    small = limits(302);
    CHECK_THROWS_WITH(dataplane::plan_side_writes(SideImage{}, p, 0, small),
                      Catch::Contains("303 slots") && Catch::Contains("302 per side"));
    small = limits();
    small.max_services = 2;
    CHECK_THROWS_WITH(dataplane::plan_side_writes(SideImage{}, p, 0, small), Catch::Contains("restarts"));
}

TEST_CASE("the VIP filter marks every word written and every VIP address", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites w = dataplane::plan_side_writes(SideImage{}, p, 1, limits());
    const std::vector<std::uint64_t>& words = w.result.filter;
    REQUIRE(words.size() == JL_VIP_FILTER_WORDS);
    for (std::uint64_t word : words) REQUIRE((word & JL_VIP_FILTER_WRITTEN) != 0);
    std::size_t marked = 0;
    for (const char* vip : {"198.19.0.1", "198.19.0.2"}) {
        __u32 addr[4] = {};
        std::memcpy(addr, ip(vip).bytes.data(), 4);
        CHECK((words[jl_vip_filter_index(addr, 0)] & jl_vip_filter_mask(addr)) != 0);
        ++marked;
    }
    // Nothing else: only those two addresses' bits are set beyond bit 0.
    std::size_t bits = 0;
    for (std::uint64_t word : words)
        bits += static_cast<std::size_t>(__builtin_popcountll(word & ~JL_VIP_FILTER_WRITTEN));
    CHECK(bits <= marked);
    CHECK(bits >= 1);

    // Writes are word indexes within the side, whole side on first write.
    CHECK(w.filter_writes.front().first == 0);
    CHECK(w.filter_writes.back().first == JL_VIP_FILTER_WORDS - 1);

    // Dropping a service whose address has another service keeps the word; dropping
    // the only service of an address clears its bit.
    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")})});
    plan::Plan next = plan::make_plan(cat, all_resolved(cat), p.ids);
    SideWrites w2 = dataplane::plan_side_writes(w.result, next, 1, limits());
    __u32 gone[4] = {};
    std::memcpy(gone, ip("198.19.0.2").bytes.data(), 4);
    __u32 kept[4] = {};
    std::memcpy(kept, ip("198.19.0.1").bytes.data(), 4);
    CHECK((w2.result.filter[jl_vip_filter_index(kept, 0)] & jl_vip_filter_mask(kept)) != 0);
    if (jl_vip_filter_index(gone, 0) != jl_vip_filter_index(kept, 0) ||
        jl_vip_filter_mask(gone) != jl_vip_filter_mask(kept)) {
        CHECK((w2.result.filter[jl_vip_filter_index(gone, 0)] & jl_vip_filter_mask(gone)) == 0);
        CHECK(w2.filter_writes.size() == 1);
    }
}

TEST_CASE("the side image keeps the plan's ring storage instead of a copy", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites w = dataplane::plan_side_writes(SideImage{}, p, 0, limits());
    for (const auto& s : p.services) {
        CHECK(w.result.rings.at(s.id).slots.shares(s.ring));
    }
    for (const auto& range : w.ring_ranges) {
        bool from_plan = false;
        for (const auto& s : p.services) from_plan = from_plan || range.slots.shares(s.ring);
        CHECK(from_plan);
    }
}

TEST_CASE("an equal ring in other storage writes nothing; a changed one only its slots", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites base = dataplane::plan_side_writes(SideImage{}, p, 0, limits());

    plan::Plan copy = p;
    copy.services[0].ring = plan::Ring(p.services[0].ring.slots());  // same content, new storage
    REQUIRE_FALSE(copy.services[0].ring.shares(p.services[0].ring));
    CHECK(dataplane::plan_side_writes(base.result, copy, 0, limits()).empty());

    plan::Plan changed = p;
    std::vector<std::uint32_t> slots = p.services[0].ring.slots();
    const std::uint32_t first = p.services[0].backends[0].id;
    const std::uint32_t second = p.services[0].backends[1].id;
    for (std::size_t i : {7, 90}) slots[i] = slots[i] == first ? second : first;  // the other backend
    changed.services[0].ring = plan::Ring(slots);
    SideWrites w = dataplane::plan_side_writes(base.result, changed, 0, limits());
    std::uint32_t offset = base.result.rings.at(p.services[0].id).offset;
    CHECK(w.ring_ranges.empty());
    CHECK(w.ring_writes ==
          std::vector<std::pair<std::uint32_t, std::uint32_t>>{{offset + 7, slots[7]}, {offset + 90, slots[90]}});
    CHECK(w.ring_slots() == 2);
    CHECK(w.result.rings.at(p.services[0].id).slots.shares(changed.services[0].ring));
}

TEST_CASE("a ring that changes size is written whole at its new place", "[dataplane][side]") {
    plan::Plan p = three_services();
    SideWrites base = dataplane::plan_side_writes(SideImage{}, p, 0, limits());
    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")}),
                          service("b", "198.19.0.1", 443, {backend("198.18.0.20")}),
                          service("c", "198.19.0.2", 53, {backend("198.18.0.22")}, config::Protocol::udp)});
    cat.services[1].ring_size = 211;
    plan::Plan next = plan::make_plan(cat, all_resolved(cat), p);
    SideWrites w = dataplane::plan_side_writes(base.result, next, 0, limits());
    REQUIRE(w.ring_ranges.size() == 1);
    const auto& range = w.ring_ranges[0];
    CHECK(range.slots.shares(next.find("b")->ring));
    CHECK(range.slots.size() == 211);
    CHECK(range.offset == 303);    // first fit after a, c (and b's old hole is too small)
    CHECK(w.ring_writes.empty());  // a and c: the same rings, nothing to write
    std::map<std::uint32_t, std::uint32_t> slots;
    replay(base.result, w, 0, slots);
    for (std::uint32_t i = 0; i < 211; ++i) REQUIRE(slots.at(303 + i) == next.find("b")->ring[i]);
}
