// What one probe found: pass or fail, why, and how long it took.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace julier::health {

// Every way a probe can fail has one class, used as a metrics label; the free-text
// reason carries the detail (which status, which signal, which TLS error).
// X(name, label)
#define JULIER_HEALTH_FAILURES(X)                                                     \
    X(none, "none")                 /* the probe passed */                            \
    X(timeout, "timeout")           /* no verdict before the deadline */              \
    X(refused, "refused")           /* TCP RST or ICMP port unreachable */            \
    X(unreachable, "unreachable")   /* no route, host or network unreachable */       \
    X(reset, "reset")               /* connection reset or closed too early */        \
    X(network, "network")           /* any other socket error */                      \
    X(tls, "tls")                   /* TLS handshake or record failure */             \
    X(tls_verify, "tls_verify")     /* certificate not trusted or wrong name */       \
    X(bad_response, "bad_response") /* malformed or oversized answer */               \
    X(status, "status")             /* HTTP status not expected */                    \
    X(body, "body")                 /* HTTP body or UDP reply not as expected */      \
    X(dns_rcode, "dns_rcode")       /* DNS answer with an rcode other than NOERROR */ \
    X(exit_status, "exit_status")   /* exec: non-zero exit or killed by a signal */   \
    X(exec_error, "exec_error")     /* exec: the command could not be started */      \
    X(config, "config")             /* the check cannot be run as configured */

enum class Failure : unsigned char {
#define JULIER_HEALTH_FAILURE_ENUM(name, label) name,
    JULIER_HEALTH_FAILURES(JULIER_HEALTH_FAILURE_ENUM)
#undef JULIER_HEALTH_FAILURE_ENUM
};

inline constexpr std::size_t kFailureCount = 0
#define JULIER_HEALTH_FAILURE_COUNT(name, label) +1
    JULIER_HEALTH_FAILURES(JULIER_HEALTH_FAILURE_COUNT)
#undef JULIER_HEALTH_FAILURE_COUNT
    ;

// The metrics label of a failure class ("timeout", "refused", ...).
std::string_view to_string(Failure failure);

struct Result {
    bool ok = false;
    Failure failure = Failure::none;  // none exactly when ok
    std::string reason;               // for humans: "status 503 (expected 200)"
    std::chrono::nanoseconds duration{0};

    static Result pass(std::string reason = {});
    static Result fail(Failure failure, std::string reason);
};

}  // namespace julier::health
