// How much of one core the health checker needs for many TCP backends, and how
// closely probes start on schedule.
//
// Backends are listening sockets on loopback served by a second thread (their cost
// is the backends' in real life, and is reported apart). The checker runs the real
// Manager on the main thread; its CPU time (user + system, from getrusage of that
// thread) over a measured window, divided by the window's length, is its share of
// one core. Probe-start jitter is how far from its slot each probe started.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_cli.h"
#include "health/address.h"
#include "health/manager.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using julier::health::Clock;
using julier::health::TimePoint;
using namespace std::chrono_literals;

namespace {

// Loopback listeners, one per (address, port) pair on 127.0.1.1 upwards (all of
// 127/8 is local, nothing to configure). Their thread sweeps the accept queues
// every few milliseconds instead of waiting on them: a waiting listener would be
// woken by each of the checker's connections, a cost a remote backend never puts
// on the checker's machine.
class Backends {
public:
    Backends(std::size_t addresses, std::size_t ports_per_address) : ports_(ports_per_address) {
        for (std::size_t a = 0; a < addresses; ++a) {
            std::string address = fmt::format("127.0.{}.{}", 1 + a / 250, 1 + a % 250);
            for (std::size_t p = 0; p < ports_per_address; ++p) {
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                sockaddr_in local{};
                local.sin_family = AF_INET;
                inet_pton(AF_INET, address.c_str(), &local.sin_addr);
                if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
                    listen(fd, SOMAXCONN) != 0)
                    throw std::runtime_error(fmt::format("cannot listen on {}: {}", address, std::strerror(errno)));
                socklen_t length = sizeof local;
                getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
                listeners_.push_back(fd);
                endpoints_.emplace_back(asio::ip::make_address_v4(address), ntohs(local.sin_port));
            }
        }
        thread_ = std::thread([this] {
            tid_.store(static_cast<long>(gettid()));
            while (!stop_.load()) {
                for (int fd : listeners_) {
                    int connection;
                    while ((connection = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0) close(connection);
                }
                std::this_thread::sleep_for(5ms);
            }
        });
        while (tid_.load() == 0) std::this_thread::sleep_for(1ms);
    }

    ~Backends() {
        stop_.store(true);
        thread_.join();
        for (int fd : listeners_) close(fd);
    }

    tcp::endpoint endpoint(std::size_t address, std::size_t port) const { return endpoints_[address * ports_ + port]; }
    std::size_t listeners() const { return listeners_.size(); }

    // CPU seconds used by the listeners' thread so far.
    double cpu_seconds() const {
        std::ifstream stat(fmt::format("/proc/self/task/{}/stat", tid_.load()));
        std::string line;
        std::getline(stat, line);
        auto close = line.rfind(')');
        if (close == std::string::npos) return 0.0;
        std::istringstream fields(line.substr(close + 2));
        std::string field;
        double utime = 0, stime = 0;
        // After the command: state is field 3 of the file; utime and stime are 14 and 15.
        for (int index = 3; fields >> field; ++index) {
            if (index == 14) utime = std::stod(field);
            if (index == 15) stime = std::stod(field);
        }
        return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }

private:
    std::size_t ports_;
    std::vector<int> listeners_;
    std::vector<tcp::endpoint> endpoints_;
    std::thread thread_;
    std::atomic<long> tid_{0};
    std::atomic<bool> stop_{false};
};

double thread_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// The same connections with nothing but the system calls a TCP check cannot do
// without: socket, connect, one epoll registration, reset and close, started from a
// 1 ms timer. Its CPU share is the floor for this kernel and machine (on loopback
// it includes the backends' half of every handshake, which the kernel runs in the
// connecting thread); the checker's share is quoted as a ratio to it.
struct BareRun {
    double cpu_share = 0.0;
    std::uint64_t connections = 0;
    std::uint64_t failures = 0;
};

BareRun bare_connects(const std::vector<tcp::endpoint>& endpoints, double per_second, double seconds) {
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    itimerspec tick{};
    tick.it_interval.tv_nsec = 1000000;
    tick.it_value.tv_nsec = 1000000;
    timerfd_settime(timer, 0, &tick, nullptr);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = timer;
    epoll_ctl(epoll, EPOLL_CTL_ADD, timer, &event);

    BareRun run;
    std::vector<int> pending;  // by descriptor: 1 while a connection waits
    double owed = 0.0;
    std::size_t next = 0;
    std::array<epoll_event, 256> ready{};
    double cpu_before = thread_cpu_seconds();
    auto start = Clock::now();
    auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    while (Clock::now() < end) {
        int count = epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 100);
        for (int i = 0; i < count; ++i) {
            int fd = ready[static_cast<std::size_t>(i)].data.fd;
            if (fd == timer) {
                std::uint64_t ticks = 0;
                if (read(timer, &ticks, sizeof ticks) != sizeof ticks) continue;
                owed += static_cast<double>(ticks) * per_second / 1000.0;
                for (; owed >= 1.0; owed -= 1.0) {
                    const tcp::endpoint& target = endpoints[next++ % endpoints.size()];
                    int socket_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                    if (socket_fd < 0) continue;
                    connect(socket_fd, target.data(), static_cast<socklen_t>(target.size()));
                    epoll_event wait_connected{};
                    wait_connected.events = EPOLLOUT | EPOLLONESHOT;
                    wait_connected.data.fd = socket_fd;
                    epoll_ctl(epoll, EPOLL_CTL_ADD, socket_fd, &wait_connected);
                    if (pending.size() <= static_cast<std::size_t>(socket_fd))
                        pending.resize(static_cast<std::size_t>(socket_fd) + 1);
                    pending[static_cast<std::size_t>(socket_fd)] = 1;
                }
                continue;
            }
            if ((ready[static_cast<std::size_t>(i)].events & (EPOLLERR | EPOLLHUP)) != 0) ++run.failures;
            linger reset{1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            close(fd);
            pending[static_cast<std::size_t>(fd)] = 0;
            ++run.connections;
        }
    }
    double wall = std::chrono::duration<double>(Clock::now() - start).count();
    run.cpu_share = (thread_cpu_seconds() - cpu_before) / wall;
    for (std::size_t fd = 0; fd < pending.size(); ++fd)
        if (pending[fd] != 0) close(static_cast<int>(fd));
    close(timer);
    close(epoll);
    return run;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(rank, values.size() - 1)];
}

void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"julier health-check benchmark: TCP checks of many backends on one thread"};
    std::size_t backends = 10000;
    double seconds = 10.0;
    julier::bench::Options options;
    std::size_t addresses = 64;
    std::size_t ports = 4;
    long interval_ms = 1000;
    app.add_option("--backends", backends, "backends to check")->check(CLI::Range(1, 1000000));
    app.add_option("--seconds", seconds, "length of the measured window")->check(CLI::Range(1.0, 3600.0));
    app.add_option("--interval-ms", interval_ms, "health.interval of every backend")->check(CLI::Range(10, 60000));
    app.add_option("--addresses", addresses, "loopback addresses with listeners (backends per service)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--ports", ports, "listeners per address")->check(CLI::Range(1, 64));
    julier::bench::add_options(app, options, "a short window (3 s)");
    CLI11_PARSE(app, argc, argv);
    if (options.quick) seconds = std::min(seconds, 3.0);

    return julier::bench::run([&] {
        raise_fd_limit();
        Backends servers(addresses, ports);

        // Service s holds one backend per listener address, all on port s % ports: the
        // (service, address) pairs are distinct, as in any real catalogue.
        std::vector<julier::health::Target> targets;
        targets.reserve(backends);
        for (std::size_t i = 0; i < backends; ++i) {
            std::size_t service = i / addresses;
            tcp::endpoint endpoint = servers.endpoint(i % addresses, service % ports);
            julier::health::Target target;
            target.service = fmt::format("svc-{}", service);
            target.address = julier::health::from_asio(endpoint.address());
            target.port = endpoint.port();
            target.check.kind = julier::config::HealthKind::tcp;
            target.check.interval = std::chrono::milliseconds(interval_ms);
            target.check.timeout = std::chrono::milliseconds(interval_ms / 2);
            targets.push_back(target);
        }

        std::vector<tcp::endpoint> endpoints;
        for (const auto& target : targets) endpoints.emplace_back(julier::health::to_asio(target.address), target.port);
        const double per_second = static_cast<double>(backends) * 1000.0 / static_cast<double>(interval_ms);
        // Half a window before the checker runs and half after, so drift of a busy
        // machine weighs on both alike.
        BareRun bare_before = bare_connects(endpoints, per_second, seconds / 2);

        asio::io_context io;
        julier::health::Manager manager(io);
        bool measuring = false;
        std::vector<double> jitter_ms;
        jitter_ms.reserve(static_cast<std::size_t>(static_cast<double>(backends) * seconds * 1000.0 /
                                                   static_cast<double>(interval_ms) * 1.1) +
                          16);
        manager.on_probe_start([&](TimePoint scheduled, TimePoint started) {
            // Early (timer slack) or late, either way off the slot.
            if (measuring)
                jitter_ms.push_back(std::abs(std::chrono::duration<double, std::milli>(started - scheduled).count()));
        });
        std::uint64_t probes_done = 0, probes_passed = 0;
        manager.on_probe_result([&](const julier::health::Target&, const julier::health::Result& r) {
            ++probes_done;
            probes_passed += r.ok ? 1 : 0;
        });
        std::size_t transitions = 0;
        manager.on_transition([&](const julier::health::HealthEvent&) { ++transitions; });
        manager.set_targets(targets);

        // Warm-up: two intervals, so every backend has been probed and gone up.
        io.run_for(std::chrono::milliseconds(2 * interval_ms));

        auto probes_before = probes_done;
        auto passed_before = probes_passed;
        double cpu_before = thread_cpu_seconds();
        double backend_cpu_before = servers.cpu_seconds();
        auto wall_before = Clock::now();
        measuring = true;
        io.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)));
        measuring = false;
        double wall = std::chrono::duration<double>(Clock::now() - wall_before).count();
        double cpu = thread_cpu_seconds() - cpu_before;
        double backend_cpu = servers.cpu_seconds() - backend_cpu_before;
        auto probes = probes_done - probes_before;
        auto failures = probes - (probes_passed - passed_before);
        std::size_t up = 0;
        for (const auto& status : manager.statuses()) up += status.state == julier::health::State::up;
        manager.stop();
        BareRun bare_after = bare_connects(endpoints, per_second, seconds / 2);
        double bare_share = (bare_before.cpu_share + bare_after.cpu_share) / 2.0;

        double cpu_share = cpu / wall;
        double p50 = percentile(jitter_ms, 0.50);
        double p99 = percentile(jitter_ms, 0.99);
        double max = jitter_ms.empty() ? 0.0 : *std::max_element(jitter_ms.begin(), jitter_ms.end());
        double expected = static_cast<double>(backends) * wall * 1000.0 / static_cast<double>(interval_ms);

        std::string prefix = fmt::format("health.tcp_{}_backends.", backends);
        nlohmann::json figures;
        figures[prefix + "cpu_share"] = cpu_share;
        figures[prefix + "jitter_p50_ms"] = p50;
        figures[prefix + "jitter_p99_ms"] = p99;
        figures[prefix + "probes_per_second"] = static_cast<double>(probes) / wall;
        figures[prefix + "failed_probes"] = failures;
        figures[prefix + "backend_cpu_share"] = backend_cpu / wall;
        figures[prefix + "bare_connect_cpu_share"] = bare_share;
        figures[prefix + "cpu_ratio_to_bare_connects"] = bare_share > 0 ? cpu_share / bare_share : 0.0;

        fmt::print("{} TCP backends ({} services, {} loopback listeners), interval {} ms, {:.1f} s measured\n",
                   backends, (backends + addresses - 1) / addresses, servers.listeners(), interval_ms, wall);
        fmt::print("  {:<40} {:>12}\n", "figure", "value");
        fmt::print("  {:<40} {:>12.4f}   (goal <= 0.05)\n", "checker CPU, share of one core", cpu_share);
        fmt::print("  {:<40} {:>12.4f}   (same connections, bare system calls)\n",
                   "bare connects CPU, share of one core", bare_share);
        fmt::print("  {:<40} {:>12.2f}\n", "checker CPU / bare connects CPU",
                   bare_share > 0 ? cpu_share / bare_share : 0.0);
        fmt::print("  {:<40} {:>12.3f}\n", "probe-start jitter p50 (ms)", p50);
        fmt::print("  {:<40} {:>12.3f}\n", "probe-start jitter p99 (ms)", p99);
        fmt::print("  {:<40} {:>12.3f}\n", "probe-start jitter max (ms)", max);
        fmt::print("  {:<40} {:>12.0f}   (schedule: {:.0f})\n", "probes per second", static_cast<double>(probes) / wall,
                   expected / wall);
        fmt::print("  {:<40} {:>12}\n", "failed probes", failures);
        fmt::print("  {:<40} {:>12}\n", "backends up at the end", up);
        fmt::print("  {:<40} {:>12.4f}   (listeners' thread, not the checker)\n", "backends' CPU, share of one core",
                   backend_cpu / wall);

        julier::bench::write_figures(figures, options.json_path);
        // A run where probes failed or fell behind measured something else.
        bool valid = failures == 0 && bare_before.failures + bare_after.failures == 0 &&
                     static_cast<double>(probes) >= 0.98 * expected && up == backends;
        if (!valid) fmt::print(stderr, "bench health: run not valid (failures, missed slots or backends not up)\n");
        return valid ? 0 : 1;
    });
}
