#include "daemon/control_server.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <list>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "common/descriptors.h"
#include "daemon/logging.h"

namespace julier::daemon {
namespace {

namespace asio = boost::asio;
using Stream = asio::local::stream_protocol;
namespace fs = std::filesystem;

std::runtime_error socket_error(const std::string& path, const std::string& what, int err) {
    return std::runtime_error(fmt::format("control socket {}: {}: {}", path, what, std::strerror(err)));
}

// The gid of `name`, if that group exists.
std::optional<gid_t> group_id(const std::string& name) {
    group entry{};
    group* found = nullptr;
    std::vector<char> buf(4096);
    while (getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found) == ERANGE) buf.resize(buf.size() * 2);
    if (found == nullptr) return std::nullopt;
    return found->gr_gid;
}

// Sets the group (when `group` exists and may be set) and the mode of a path:
// `group_mode` with the group, `private_mode` without.
void restrict_access(const std::string& path, const std::string& group, mode_t group_mode, mode_t private_mode) {
    mode_t mode = private_mode;
    if (auto gid = group_id(group)) {
        if (::chown(path.c_str(), static_cast<uid_t>(-1), *gid) == 0) {
            mode = group_mode;
        } else {
            // Without CAP_CHOWN only a group of the process itself can be set
            // (the unit runs julierd with Group=julier for this).
            spdlog::warn("control socket group not set path={} group={} error={}", kv(path), kv(group),
                         kv(std::strerror(errno)));
        }
    }
    if (::chmod(path.c_str(), mode) != 0) throw socket_error(path, "cannot set mode", errno);
}

void prepare_directory(const std::string& socket_path, const std::string& group) {
    const fs::path dir = fs::path(socket_path).parent_path();
    if (dir.empty()) return;
    std::error_code ec;
    if (fs::exists(dir, ec)) return;  // e.g. RuntimeDirectory= made it; its mode is the unit's choice
    fs::create_directories(dir, ec);
    if (ec) throw socket_error(socket_path, fmt::format("cannot create directory {}", dir.string()), ec.value());
    restrict_access(dir.string(), group, 0750, 0750);
}

// A stale socket file (daemon killed) is removed; a live one means another daemon.
void clear_stale_socket(const std::string& path, asio::io_context& io) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        throw socket_error(path, "cannot inspect", errno);
    }
    if (!S_ISSOCK(st.st_mode)) {
        throw std::runtime_error(
            fmt::format("control socket {}: exists and is not a socket; remove it or set control_socket", path));
    }
    Stream::socket probe(io);
    boost::system::error_code ec;
    probe.connect(Stream::endpoint(path), ec);
    if (!ec) {
        throw std::runtime_error(
            fmt::format("control socket {}: another julierd is running and answering on it (julierctl "
                        "--socket {} status)",
                        path, path));
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw socket_error(path, "cannot remove stale socket", errno);
}

Peer peer_of(int fd) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return {};
    return Peer{cred.pid, cred.uid, cred.gid};
}

class Session;

}  // namespace

struct detail::ControlServerState {
    ControlServerState(asio::io_context& io_, ControlServer::Handler handler_, ControlAccess access_)
        : io(io_), handler(std::move(handler_)), access(std::move(access_)), acceptor(io_) {}

    asio::io_context& io;
    ControlServer::Handler handler;
    ControlAccess access;
    Stream::acceptor acceptor;
    // Each open connection with its peer's uid: root's are counted apart.
    std::list<std::pair<std::weak_ptr<Session>, unsigned>> sessions;
    bool closed = false;

    // Open connections in all, and those of users other than root.
    std::pair<std::size_t, std::size_t> live_sessions() {
        sessions.remove_if([](const auto& s) { return s.first.expired(); });
        const auto others =
            std::count_if(sessions.begin(), sessions.end(), [](const auto& s) { return s.second != 0; });
        return {sessions.size(), static_cast<std::size_t>(others)};
    }
};

namespace {

using State = detail::ControlServerState;

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(std::shared_ptr<State> state, Stream::socket socket, Peer peer)
        : state_(std::move(state)),
          socket_(std::move(socket)),
          buffer_(protocol::kMaxLineBytes + 1),
          idle_(state_->io),
          peer_(peer) {}

    void start() { read_next(); }

    void stop() {
        boost::system::error_code ignored;
        idle_.cancel();
        socket_.shutdown(Stream::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

private:
    void read_next() {
        // One deadline covers the whole line and the answer's write: a client that
        // trickles bytes or never reads cannot hold the slot past it. Only a complete
        // request re-arms it: blank lines are not activity.
        arm_deadline();
        read_line();
    }

    void arm_deadline() {
        idle_.expires_after(state_->access.idle_timeout);
        idle_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) self->stop();
        });
    }

    void read_line() {
        asio::async_read_until(
            socket_, buffer_, '\n',
            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n) {
        if (ec == asio::error::not_found) {
            // The buffer filled up without a newline: the request is over the limit.
            send(Reply{protocol::failure(fmt::format("request longer than {} bytes", protocol::kMaxLineBytes)), {}},
                 /*close_after=*/true);
            return;
        }
        if (ec) {
            stop();
            return;
        }
        const auto* begin = static_cast<const char*>(buffer_.data().data());
        std::string line(begin, n - 1);
        buffer_.consume(n);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) {
            read_line();  // under the deadline already running
            return;
        }

        Reply reply;
        auto decoded = protocol::decode_request(line);
        if (!decoded.request) {
            spdlog::debug("control request refused peer_pid={} peer_uid={} reason={}", peer_.pid, peer_.uid,
                          kv(decoded.error));
            reply.response = protocol::failure(std::move(decoded.error));
        } else {
            try {
                reply = state_->handler(*decoded.request, peer_);
            } catch (const std::exception& e) {
                spdlog::error("control command failed command={} error={}",
                              protocol::command_name(decoded.request->command), kv(e.what()));
                reply.response = protocol::failure(fmt::format("internal error: {}", e.what()));
            }
        }
        if (reply.later) {
            // The session lives in `answer` until the work answers (or drops it).
            idle_.cancel();
            auto later = std::move(reply.later);
            later([self = shared_from_this()](Reply answer) {
                if (self->state_->closed) return;
                self->arm_deadline();  // for the write
                self->send(std::move(answer), /*close_after=*/false);
            });
            return;
        }
        send(std::move(reply), /*close_after=*/false);
    }

    void send(Reply reply, bool close_after) {
        out_ = protocol::encode_response(reply.response);
        out_ += '\n';
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this(), after = std::move(reply.after_sent), close_after](
                              const boost::system::error_code& ec, std::size_t) {
                              const bool closed = self->state_->closed;
                              if (ec || close_after || closed) self->stop();
                              if (after) after();
                              if (!ec && !close_after && !closed) self->read_next();
                          });
    }

    std::shared_ptr<State> state_;
    Stream::socket socket_;
    // Bounded: async_read_until fails with not_found once a line outgrows it.
    asio::streambuf buffer_;
    asio::steady_timer idle_;
    Peer peer_;
    std::string out_;
};

void accept_next(const std::shared_ptr<State>& state) {
    state->acceptor.async_accept([state](const boost::system::error_code& ec, Stream::socket socket) {
        if (state->closed || ec == asio::error::operation_aborted) return;
        if (ec) {
            spdlog::warn("control socket accept failed error={}", kv(ec.message()));
        } else {
            common::set_close_on_exec(socket.native_handle());  // nothing forks between accept and here
            const Peer peer = peer_of(socket.native_handle());
            const auto [all, others] = state->live_sessions();
            // Root may take the slots kept back from everyone else, so an operator
            // is never locked out by the group's clients.
            const bool full =
                all >= ControlServer::kMaxConnections ||
                (peer.uid != 0 && others >= ControlServer::kMaxConnections - ControlServer::kReservedForRoot);
            if (full) {
                // A fresh socket's send buffer is empty: this short write cannot block.
                const auto line =
                    protocol::encode_response(protocol::failure("too many open control connections")) + "\n";
                boost::system::error_code ignored;
                asio::write(socket, asio::buffer(line), ignored);
                socket.close(ignored);
            } else {
                auto session = std::make_shared<Session>(state, std::move(socket), peer);
                state->sessions.emplace_back(session, peer.uid);
                session->start();
            }
        }
        accept_next(state);
    });
}

}  // namespace

ControlServer::ControlServer(asio::io_context& io, Handler handler, ControlAccess access)
    : state_(std::make_shared<detail::ControlServerState>(io, std::move(handler), std::move(access))) {}

ControlServer::~ControlServer() { close(); }

void ControlServer::listen(const std::string& path) {
    if (path.empty()) throw std::runtime_error("control socket: the path is empty");
    if (path.size() >= sizeof(sockaddr_un::sun_path)) {
        throw std::runtime_error(fmt::format("control socket {}: path is {} bytes, the limit is {}", path, path.size(),
                                             sizeof(sockaddr_un::sun_path) - 1));
    }
    prepare_directory(path, state_->access.group);
    clear_stale_socket(path, state_->io);

    boost::system::error_code ec;
    state_->acceptor.open(Stream(), ec);
    if (ec) throw socket_error(path, "cannot create socket", ec.value());
    // Asio opens and accepts without close-on-exec: no exec check may inherit these.
    if (!common::set_close_on_exec(state_->acceptor.native_handle()))
        throw socket_error(path, "cannot set close-on-exec", errno);
    // Bind with a tight umask so the socket never exists with looser permissions.
    const mode_t old_mask = ::umask(0177);
    state_->acceptor.bind(Stream::endpoint(path), ec);
    ::umask(old_mask);
    if (ec) throw socket_error(path, "cannot bind", ec.value());
    path_ = path;
    restrict_access(path, state_->access.group, 0660, 0600);
    state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw socket_error(path, "cannot listen", ec.value());
    state_->closed = false;
    accept_next(state_);
}

void ControlServer::close() {
    if (!state_) return;
    state_->closed = true;
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& entry : state_->sessions) {
        if (auto session = entry.first.lock()) session->stop();
    }
    state_->sessions.clear();
    if (!path_.empty()) {
        ::unlink(path_.c_str());
        path_.clear();
    }
}

}  // namespace julier::daemon
