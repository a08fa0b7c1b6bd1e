// Real servers on loopback for the health-check tests, all driven by the same
// io_context as the probe under test: TCP (accepting, refusing, stalled), HTTP and
// HTTPS with configurable answers, UDP and DNS. Plus certificates made at test time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include "health/probe.h"

namespace julier::health::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;

inline const asio::ip::address kLoopback4 = asio::ip::make_address("127.0.0.1");
inline const asio::ip::address kLoopback6 = asio::ip::make_address("::1");

// Runs the io_context until done() holds or `limit` has passed; returns done().
template <class Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit = 5000ms) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
        if (io.stopped()) io.restart();
        io.run_one_for(5ms);
    }
    return done();
}

// Runs the io_context for a while, whatever happens.
// A timeout's reason: "timeout after N ms" + `rest`, N the probe's budget. The
// budget runs from when the probe object was made, a moment after its deadline was
// set, so N may fall a little short of the timeout on a loaded machine.
inline bool timed_out(const std::string& reason, int timeout_ms, std::string_view rest) {
    int n = -1;
    char tail[256] = {};
    if (std::sscanf(reason.c_str(), "timeout after %d ms%255[^\n]", &n, tail) < 1) return false;
    return n <= timeout_ms && n >= timeout_ms - 25 && std::string_view(tail) == rest;
}

inline void run_for(asio::io_context& io, std::chrono::milliseconds span) {
    auto until = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < until) {
        if (io.stopped()) io.restart();
        io.run_one_until(until);
    }
}

// One probe to its end; fails the test unless the callback runs exactly once.
inline Result probe_once(asio::io_context& io, Probe& probe, const ProbeTarget& target,
                         const config::HealthCheck& check, std::chrono::milliseconds timeout = 500ms) {
    std::optional<Result> result;
    int calls = 0;
    probe.async_probe(target, check, std::chrono::steady_clock::now() + timeout, [&](Result r) {
        ++calls;
        result = std::move(r);
    });
    CHECK(calls == 0);  // never from inside async_probe
    REQUIRE(run_until(
        io, [&] { return result.has_value(); }, timeout + 3000ms));
    run_for(io, 20ms);  // late handlers must not call back again
    CHECK(calls == 1);
    return *result;
}

// A port on `address` that nothing listens on: bound, then released.
inline std::uint16_t closed_tcp_port(asio::io_context& io, const asio::ip::address& address) {
    tcp::acceptor probe(io, tcp::endpoint(address, 0));
    return probe.local_endpoint().port();
}

inline std::uint16_t closed_udp_port(asio::io_context& io, const asio::ip::address& address) {
    udp::socket socket(io, udp::endpoint(address, 0));
    return socket.local_endpoint().port();
}

// Accepts connections and closes them at once.
class TcpServer {
public:
    TcpServer(asio::io_context& io, const asio::ip::address& address) : acceptor_(io, tcp::endpoint(address, 0)) {
        accept();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    int accepted() const { return accepted_; }
    void close() { acceptor_.close(); }

private:
    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
            if (error) return;
            ++accepted_;
            boost::system::error_code ignored;
            socket.close(ignored);
            accept();
        });
    }

    tcp::acceptor acceptor_;
    int accepted_ = 0;
};

// A listener that never accepts, with a backlog of 0 already taken by one
// connection: the kernel drops further SYNs, so connecting times out.
class StalledTcpServer {
public:
    StalledTcpServer(asio::io_context& io, const asio::ip::address& address) : acceptor_(io), filler_(io) {
        tcp::endpoint endpoint(address, 0);
        acceptor_.open(endpoint.protocol());
        acceptor_.bind(endpoint);
        acceptor_.listen(0);
        filler_.connect(acceptor_.local_endpoint());
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    tcp::acceptor acceptor_;
    tcp::socket filler_;
};

// Writes a banner to each connection as soon as it is accepted, then keeps it
// open without reading (a server of some other protocol).
class BannerServer {
public:
    BannerServer(asio::io_context& io, const asio::ip::address& address, std::string banner)
        : acceptor_(io, tcp::endpoint(address, 0)), banner_(std::move(banner)) {
        accept();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
            if (error) return;
            auto connection = std::make_shared<tcp::socket>(std::move(socket));
            connections_.push_back(connection);
            asio::async_write(*connection, asio::buffer(banner_),
                              [connection](const boost::system::error_code&, std::size_t) {});
            accept();
        });
    }

    tcp::acceptor acceptor_;
    std::string banner_;
    std::vector<std::shared_ptr<tcp::socket>> connections_;
};

// What an HttpServer answers.
struct HttpAnswer {
    int status = 200;
    std::string body = "ok";
    bool chunked = false;
    std::chrono::milliseconds delay{0};  // before answering
    std::string raw;                     // sent instead of a generated response when set
};

inline HttpAnswer answer(int status, std::string body) {
    HttpAnswer result;
    result.status = status;
    result.body = std::move(body);
    return result;
}

inline std::string render(const HttpAnswer& answer) {
    if (!answer.raw.empty()) return answer.raw;
    std::string head = "HTTP/1.1 " + std::to_string(answer.status) + " Whatever\r\nConnection: close\r\n";
    if (!answer.chunked)
        return head + "Content-Length: " + std::to_string(answer.body.size()) + "\r\n\r\n" + answer.body;
    // Two chunks, split in the middle so a substring may straddle them.
    std::string first = answer.body.substr(0, answer.body.size() / 2);
    std::string second = answer.body.substr(first.size());
    auto chunk = [](const std::string& data) {
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", data.size());
        return std::string(size) + data + "\r\n";
    };
    return head + "Transfer-Encoding: chunked\r\n\r\n" + chunk(first) + chunk(second) + "0\r\n\r\n";
}

// An HTTP/1.1 server (over TLS when given a context) that records each request and
// the server name (SNI) each TLS client sent.
class HttpServer {
public:
    HttpServer(asio::io_context& io, const asio::ip::address& address, HttpAnswer answer,
               std::shared_ptr<asio::ssl::context> tls = nullptr)
        : io_(io), acceptor_(io, tcp::endpoint(address, 0)), answer_(std::move(answer)), tls_(std::move(tls)) {
        accept();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    const std::vector<std::string>& requests() const { return state_->requests; }
    const std::vector<std::string>& server_names() const { return state_->server_names; }
    int handshake_failures() const { return state_->handshake_failures; }

private:
    struct State {
        std::vector<std::string> requests;
        std::vector<std::string> server_names;
        int handshake_failures = 0;
    };

    template <class Stream>
    struct Session : std::enable_shared_from_this<Session<Stream>> {
        template <class... Args>
        Session(asio::io_context& io, std::shared_ptr<State> state, std::string response,
                std::chrono::milliseconds delay, Args&&... args)
            : stream(std::forward<Args>(args)...),
              timer(io),
              state(std::move(state)),
              response(std::move(response)),
              delay(delay) {}

        void read() {
            asio::async_read_until(
                stream, input, "\r\n\r\n",
                [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t size) {
                    if (error) return;
                    std::string request(asio::buffers_begin(self->input.data()),
                                        asio::buffers_begin(self->input.data()) + static_cast<std::ptrdiff_t>(size));
                    self->state->requests.push_back(request);
                    self->timer.expires_after(self->delay);
                    self->timer.async_wait([self](const boost::system::error_code&) {
                        asio::async_write(self->stream, asio::buffer(self->response),
                                          [self](const boost::system::error_code&, std::size_t) {
                                              boost::system::error_code ignored;
                                              if constexpr (std::is_same_v<Stream, tcp::socket>) {
                                                  self->stream.shutdown(tcp::socket::shutdown_send, ignored);
                                              } else {
                                                  self->stream.next_layer().shutdown(tcp::socket::shutdown_send,
                                                                                     ignored);
                                              }
                                          });
                    });
                });
        }

        Stream stream;
        asio::steady_timer timer;
        std::shared_ptr<State> state;
        std::string response;
        std::chrono::milliseconds delay;
        asio::streambuf input;
    };

    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
            if (error) return;
            if (!tls_) {
                auto session = std::make_shared<Session<tcp::socket>>(io_, state_, render(answer_), answer_.delay,
                                                                      std::move(socket));
                session->read();
            } else {
                using TlsStream = asio::ssl::stream<tcp::socket>;
                auto session = std::make_shared<Session<TlsStream>>(io_, state_, render(answer_), answer_.delay,
                                                                    std::move(socket), *tls_);
                session->stream.async_handshake(
                    asio::ssl::stream_base::server, [session](const boost::system::error_code& error) {
                        if (error) {
                            ++session->state->handshake_failures;
                            return;
                        }
                        const char* name =
                            SSL_get_servername(session->stream.native_handle(), TLSEXT_NAMETYPE_host_name);
                        session->state->server_names.push_back(name ? name : "");
                        session->read();
                    });
            }
            accept();
        });
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    HttpAnswer answer_;
    std::shared_ptr<asio::ssl::context> tls_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Answers each datagram with `reply`, or stays silent when there is none.
class UdpServer {
public:
    UdpServer(asio::io_context& io, const asio::ip::address& address, std::optional<std::string> reply)
        : socket_(io, udp::endpoint(address, 0)), reply_(std::move(reply)) {
        receive();
    }
    std::uint16_t port() const { return socket_.local_endpoint().port(); }
    const std::vector<std::string>& received() const { return received_; }

private:
    void receive() {
        socket_.async_receive_from(asio::buffer(buffer_), peer_,
                                   [this](const boost::system::error_code& error, std::size_t size) {
                                       if (error) return;
                                       received_.emplace_back(buffer_.data(), size);
                                       if (reply_) socket_.send_to(asio::buffer(*reply_), peer_);
                                       receive();
                                   });
    }

    udp::socket socket_;
    std::optional<std::string> reply_;
    std::array<char, 2048> buffer_{};
    udp::endpoint peer_;
    std::vector<std::string> received_;
};

// A DNS server that answers every query with `rcode` and no records, echoing the
// question. It reads the query with its own few lines of parsing, not the code
// under test.
class DnsServer {
public:
    enum class Mode { answer, silent, wrong_id };

    DnsServer(asio::io_context& io, const asio::ip::address& address, std::uint8_t rcode, Mode mode = Mode::answer)
        : socket_(io, udp::endpoint(address, 0)), rcode_(rcode), mode_(mode) {
        receive();
    }
    std::uint16_t port() const { return socket_.local_endpoint().port(); }
    const std::vector<std::string>& queries() const { return queries_; }

private:
    void receive() {
        socket_.async_receive_from(
            asio::buffer(buffer_), peer_, [this](const boost::system::error_code& error, std::size_t size) {
                if (error) return;
                std::string query(buffer_.data(), size);
                queries_.push_back(query);
                if (mode_ != Mode::silent && size >= 12) {
                    std::string reply = query;  // header + question as received
                    if (mode_ == Mode::wrong_id) reply[1] = static_cast<char>(reply[1] ^ 0x5a);
                    reply[2] = static_cast<char>(static_cast<unsigned char>(reply[2]) | 0x80);  // QR
                    reply[3] = static_cast<char>(0x80 | (rcode_ & 0x0f));                       // RA, rcode
                    socket_.send_to(asio::buffer(reply), peer_);
                }
                receive();
            });
    }

    udp::socket socket_;
    std::uint8_t rcode_;
    Mode mode_;
    std::array<char, 2048> buffer_{};
    udp::endpoint peer_;
    std::vector<std::string> queries_;
};

// ---- certificates made at test time ----

struct KeyPair {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
    std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};

    std::string cert_pem() const {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        PEM_write_bio_X509(bio.get(), cert.get());
        char* data = nullptr;
        long size = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(size));
    }
    std::string key_pem() const {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
        char* data = nullptr;
        long size = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(size));
    }
};

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (!extension) throw std::runtime_error("bad test certificate extension");
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
}

// A P-256 certificate for `common_name` with subjectAltName `san` (OpenSSL config
// syntax), signed by `issuer` or by itself; `ca` makes it a CA.
inline KeyPair make_certificate(const std::string& common_name, const std::string& san, const KeyPair* issuer,
                                bool ca) {
    static long serial = 1000;
    KeyPair pair;
    pair.key.reset(EVP_EC_gen("P-256"));
    pair.cert.reset(X509_new());
    X509* cert = pair.cert.get();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, pair.key.get());
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509* signer = issuer ? issuer->cert.get() : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(signer));
    if (ca) {
        add_extension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert, signer, NID_ext_key_usage, "serverAuth");
    }
    if (!san.empty()) add_extension(cert, signer, NID_subject_alt_name, san.c_str());
    X509_sign(cert, issuer ? issuer->key.get() : pair.key.get(), EVP_sha256());
    return pair;
}

inline std::shared_ptr<asio::ssl::context> server_context(const KeyPair& pair) {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    std::string cert = pair.cert_pem();
    std::string key = pair.key_pem();
    context->use_certificate(asio::buffer(cert), asio::ssl::context::pem);
    context->use_private_key(asio::buffer(key), asio::ssl::context::pem);
    return context;
}

// A file removed when the object goes.
class TempFile {
public:
    explicit TempFile(const std::string& contents) {
        std::string pattern = (std::filesystem::temp_directory_path() / "julier-health-test-XXXXXX").string();
        int fd = mkstemp(pattern.data());
        if (fd < 0) throw std::runtime_error("mkstemp failed");
        ::close(fd);
        path_ = pattern;
        std::ofstream(path_) << contents;
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace julier::health::testing
