#include "health/udp_probe.h"

#include <algorithm>
#include <span>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/udp.hpp>

#include "health/http_check.h"
#include "health/datagram_operation.h"

namespace julier::health {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr std::size_t kMinReplyBuffer = 2048;  // enough to see any expected prefix

class UdpOperation final : public DatagramOperation {
public:
    UdpOperation(asio::io_context& io, TimePoint deadline, ProbeCallback done, const config::UdpCheck& check)
        : DatagramOperation(io, deadline, std::move(done), std::max(kMinReplyBuffer, check.expect.size()),
                            {"sending", "waiting for a reply"}),
          payload_(check.payload),
          expect_(check.expect) {}

    void start(const ProbeTarget& target) {
        arm_deadline();
        set_phase("sending");
        if (target.port == 0) {
            finish_later(Result::fail(Failure::config, "no port to check (set health.port)"));
            return;
        }
        exchange(target, asio::buffer(payload_));
    }

private:
    void on_reply(std::span<const std::uint8_t> bytes) override {
        std::string_view reply(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (reply.substr(0, expect_.size()) == expect_)
            return finish(Result::pass("reply of " + std::to_string(bytes.size()) + " bytes"));
        finish(Result::fail(Failure::body,
                            "reply " + quoted(reply.substr(0, 32)) + " does not start with " + quoted(expect_)));
    }

    std::string payload_;
    std::string expect_;
};

}  // namespace

ProbeHandle UdpProbe::async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                                  ProbeCallback done) {
    auto operation = std::make_shared<UdpOperation>(io_, deadline, std::move(done), check.udp);
    operation->start(target);
    return ProbeHandle(operation);
}

}  // namespace julier::health
