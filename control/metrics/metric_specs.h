// Every metric julierd exports: name, type and help text, in one place. The
// collectors build their families from these entries, and the dashboard test checks
// the dashboard's queries against all_metrics, so a name exists exactly once.
#pragma once

#include <array>
#include <string_view>

#include <prometheus/metric_type.h>

namespace julier::metrics {

struct MetricSpec {
    std::string_view name;
    prometheus::MetricType type;
    std::string_view help;
};

namespace spec {

using prometheus::MetricType;

// Forwarder traffic, read from the per-CPU BPF maps at scrape time. Bytes are frame
// lengths as received, so the service, backend and verdict views add up alike.
inline constexpr MetricSpec service_packets{"julier_service_packets_total", MetricType::Counter,
                                            "Packets the forwarder sent on to a backend of the service."};
inline constexpr MetricSpec service_bytes{
    "julier_service_bytes_total", MetricType::Counter,
    "Bytes (frame length as received) the forwarder sent on to a backend of the service."};
inline constexpr MetricSpec service_new_flows{
    "julier_service_new_flows_total", MetricType::Counter,
    "Flows of the service that got a connection table entry (a TCP SYN, the first packet of a UDP flow, or a "
    "re-pick)."};
inline constexpr MetricSpec service_nonsyn_miss{
    "julier_service_nonsyn_miss_total", MetricType::Counter,
    "TCP packets of the service that were no SYN, FIN or RST and found no connection table entry (flows that "
    "began elsewhere or lost their entry); sent to the ring's pick and remembered."};
inline constexpr MetricSpec backend_packets{"julier_backend_packets_total", MetricType::Counter,
                                            "Packets the forwarder sent to the backend."};
inline constexpr MetricSpec backend_bytes{"julier_backend_bytes_total", MetricType::Counter,
                                          "Bytes (frame length as received) the forwarder sent to the backend."};
inline constexpr MetricSpec backend_new_flows{
    "julier_backend_new_flows_total", MetricType::Counter,
    "Flows that got a connection table entry naming the backend (as julier_service_new_flows_total counts them)."};
inline constexpr MetricSpec forwarder_packets{
    "julier_forwarder_packets_total", MetricType::Counter,
    "Packets the forwarder handled, by verdict and reason (every packet counts once)."};
inline constexpr MetricSpec forwarder_bytes{
    "julier_forwarder_bytes_total", MetricType::Counter,
    "Bytes (frame length as received) the forwarder handled, by verdict and reason."};
inline constexpr MetricSpec forwarder_read_errors{
    "julier_forwarder_read_errors_total", MetricType::Counter,
    "Scrapes that could not read the forwarder's counters (their traffic series are "
    "missing from that scrape)."};
inline constexpr MetricSpec dataplane_generation{
    "julier_dataplane_generation", MetricType::Gauge,
    "Generation of the plan the forwarder uses now (0 = nothing applied yet)."};

// Backend state of the live plan.
inline constexpr MetricSpec backend_up{"julier_backend_up", MetricType::Gauge,
                                       "1 when the backend passes its health check (or has none and is not down), "
                                       "0 when it is down or not known yet."};
inline constexpr MetricSpec backend_weight{
    "julier_backend_weight", MetricType::Gauge,
    "Weight of the backend in the Maglev ring now (0 while draining, down or unresolved)."};
inline constexpr MetricSpec backend_configured_weight{"julier_backend_configured_weight", MetricType::Gauge,
                                                      "Weight of the backend as the catalogue configures it."};
inline constexpr MetricSpec backend_draining{"julier_backend_draining", MetricType::Gauge,
                                             "1 when the backend keeps its established flows but gets no new ones."};
inline constexpr MetricSpec backend_maint{"julier_backend_maint", MetricType::Gauge,
                                          "1 when the operator forced the backend down (julierctl maint), whatever "
                                          "its health."};

// Health checks.
inline constexpr MetricSpec health_check_duration{"julier_health_check_duration_seconds", MetricType::Histogram,
                                                  "Time a health probe took, passed or failed."};
inline constexpr MetricSpec health_check_failures{"julier_health_check_failures_total", MetricType::Counter,
                                                  "Health probes that failed, by reason."};

// Configuration and process.
inline constexpr MetricSpec config_reloads{"julier_config_reloads_total", MetricType::Counter,
                                           "Configuration reloads, by result."};
inline constexpr MetricSpec config_last_reload_successful{
    "julier_config_last_reload_successful", MetricType::Gauge,
    "1 when the last configuration load or reload succeeded, else 0."};
inline constexpr MetricSpec config_last_reload_success_timestamp{
    "julier_config_last_reload_success_timestamp_seconds", MetricType::Gauge,
    "Unix time of the last successful configuration load or reload."};
inline constexpr MetricSpec config_generation{
    "julier_config_generation", MetricType::Gauge,
    "Generation number of the configuration in use (0 until the first load)."};
inline constexpr MetricSpec build_info{"julier_build_info", MetricType::Gauge,
                                       "Always 1; the labels say which julier build runs."};
inline constexpr MetricSpec start_time{"julier_start_time_seconds", MetricType::Gauge,
                                       "Unix time when julierd started."};

// Fleet: BGP announcement of the VIPs through BIRD (only with a `bgp:` section).
inline constexpr MetricSpec vip_announced{
    "julier_vip_announced", MetricType::Gauge,
    "1 while this box asks BIRD to announce the VIP, 0 while it is withdrawn or in hold-down."};
inline constexpr MetricSpec bgp_session_up{"julier_bgp_session_up", MetricType::Gauge,
                                           "1 when BIRD reports the BGP session to the neighbour Established, else 0."};

// Interfaces of the catalogue.
inline constexpr MetricSpec interface_attached{
    "julier_interface_attached", MetricType::Gauge,
    "1 while the forwarder runs on the interface, 0 while the interface is missing or "
    "the forwarder could not be attached there."};
inline constexpr MetricSpec interface_reattaches{
    "julier_interface_reattaches_total", MetricType::Counter,
    "Times julierd found the forwarder gone from the interface (deleted and re-created, "
    "or the program removed) and attached it again."};

// The connection table, from the periodic census (a walk of jl_flows every 15 s).
inline constexpr MetricSpec service_flows{"julier_service_flows", MetricType::Gauge,
                                          "Connection-table entries of the service at the last census."};
inline constexpr MetricSpec backend_flows{
    "julier_backend_flows", MetricType::Gauge,
    "Connection-table entries that send their flow to the backend, at the last census."};
inline constexpr MetricSpec flow_table_entries{"julier_flow_table_entries", MetricType::Gauge,
                                               "Entries in the connection table at the last census."};
inline constexpr MetricSpec flow_table_max_entries{"julier_flow_table_max_entries", MetricType::Gauge,
                                                   "Size of the connection table (limits.max_flows)."};
inline constexpr MetricSpec flow_table_fill_ratio{
    "julier_flow_table_fill_ratio", MetricType::Gauge,
    "Entries / size of the connection table at the last census (near 1: the LRU evicts live flows)."};
inline constexpr MetricSpec flow_census_duration{"julier_flow_census_duration_seconds", MetricType::Gauge,
                                                 "Time the last census took to walk the connection table."};
inline constexpr MetricSpec flow_census_timestamp{"julier_flow_census_timestamp_seconds", MetricType::Gauge,
                                                  "Unix time when the last census ended."};

}  // namespace spec

inline constexpr std::array all_metrics{
    &spec::service_packets,
    &spec::service_bytes,
    &spec::service_new_flows,
    &spec::service_nonsyn_miss,
    &spec::backend_packets,
    &spec::backend_bytes,
    &spec::backend_new_flows,
    &spec::forwarder_packets,
    &spec::forwarder_bytes,
    &spec::forwarder_read_errors,
    &spec::dataplane_generation,
    &spec::backend_up,
    &spec::backend_weight,
    &spec::backend_configured_weight,
    &spec::backend_draining,
    &spec::backend_maint,
    &spec::health_check_duration,
    &spec::health_check_failures,
    &spec::config_reloads,
    &spec::config_last_reload_successful,
    &spec::config_last_reload_success_timestamp,
    &spec::config_generation,
    &spec::build_info,
    &spec::start_time,
    &spec::vip_announced,
    &spec::bgp_session_up,
    &spec::interface_attached,
    &spec::interface_reattaches,
    &spec::service_flows,
    &spec::backend_flows,
    &spec::flow_table_entries,
    &spec::flow_table_max_entries,
    &spec::flow_table_fill_ratio,
    &spec::flow_census_duration,
    &spec::flow_census_timestamp,
};

}  // namespace julier::metrics
