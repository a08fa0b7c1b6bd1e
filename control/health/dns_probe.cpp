#include "health/dns_probe.h"

#include <array>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/udp.hpp>

#include "health/dns_message.h"
#include "health/datagram_operation.h"

namespace julier::health {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

class DnsOperation final : public DatagramOperation {
public:
    DnsOperation(asio::io_context& io, TimePoint deadline, ProbeCallback done, std::uint16_t id)
        : DatagramOperation(io, deadline, std::move(done), kReplyCapacity,
                            {"sending the query", "waiting for the answer"}),
          id_(id) {}

    void start(const ProbeTarget& target, const config::DnsCheck& check) {
        arm_deadline();
        set_phase("sending the query");
        if (target.port == 0) {
            finish_later(Result::fail(Failure::config, "no port to check (set health.port)"));
            return;
        }
        auto query = encode_dns_query(id_, check.name, check.type);
        if (!query.error.empty()) {
            finish_later(Result::fail(Failure::config, "health.dns.name \"" + check.name + "\": " + query.error));
            return;
        }
        query_ = std::move(query.bytes);
        question_ = DnsQuestion{canonical_dns_name(check.name), check.type, kDnsClassIn};

        exchange(target, asio::buffer(query_));
    }

private:
    void on_reply(std::span<const std::uint8_t> reply) override {
        std::string problem;
        auto message = decode_dns_message(reply, &problem);
        if (!message) return finish(Result::fail(Failure::bad_response, "malformed DNS answer: " + problem));
        const auto& header = message->header;
        // Not the answer to this query: keep listening until the deadline.
        if (!header.response || header.id != id_) return receive();

        std::string asked = question_.name + " " + dns_type_name(question_.type);
        if (header.rcode != 0)
            return finish(Result::fail(Failure::dns_rcode, dns_rcode_name(header.rcode) + " for " + asked));
        if (message->questions.size() != 1 || message->questions.front() != question_)
            return finish(Result::fail(Failure::bad_response, "answer does not repeat the question " + asked));
        finish(Result::pass("NOERROR for " + asked + ", " + std::to_string(header.answers) + " answer record(s)"));
    }

    static constexpr std::size_t kReplyCapacity = 4096;

    std::uint16_t id_;
    std::vector<std::uint8_t> query_;
    DnsQuestion question_;
};

}  // namespace

DnsProbe::DnsProbe(asio::io_context& io) : io_(io), ids_(std::random_device{}()) {}

ProbeHandle DnsProbe::async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                                  ProbeCallback done) {
    auto id = static_cast<std::uint16_t>(ids_());
    auto operation = std::make_shared<DnsOperation>(io_, deadline, std::move(done), id);
    operation->start(target, check.dns);
    return ProbeHandle(operation);
}

}  // namespace julier::health
