#include "health/probe_set.h"

#include "health/dns_probe.h"
#include "health/http_probe.h"
#include "health/tcp_probe.h"
#include "health/udp_probe.h"

namespace julier::health {

ProbeSet::ProbeSet(boost::asio::io_context& io, ProbeOptions options)
    : tcp_(std::make_unique<TcpProbe>(io)),
      http_(std::make_unique<HttpProbe>(io)),
      https_(std::make_unique<HttpsProbe>(io, std::move(options.tls))),
      udp_(std::make_unique<UdpProbe>(io)),
      dns_(std::make_unique<DnsProbe>(io)),
      exec_(std::make_unique<ExecProbe>(io, std::move(options.exec))) {}

ProbeSet::~ProbeSet() = default;

Probe* ProbeSet::find(config::HealthKind kind) const {
    using config::HealthKind;
    switch (kind) {
        case HealthKind::tcp: return tcp_.get();
        case HealthKind::http: return http_.get();
        case HealthKind::https: return https_.get();
        case HealthKind::udp: return udp_.get();
        case HealthKind::dns: return dns_.get();
        case HealthKind::exec: return exec_.get();
        case HealthKind::none: return nullptr;
    }
    return nullptr;
}

}  // namespace julier::health
