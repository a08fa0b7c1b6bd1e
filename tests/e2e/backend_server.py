"""A backend for julier's end-to-end tests and demo. Every answer names the backend,
so a client can tell who served it.

  HTTP  on --http-port (default 80):  GET /  ->  "<name>\n"
  UDP   on --udp-port  (default 5353): any datagram -> "<name>\n"
  TCP   on --hold-port (default 7000): line echo for long-lived connections:
        each line received is answered with "<name> <line>\n"
Listens on every address (IPv4 and IPv6), so it answers on the VIP held on lo.
"""
import argparse
import http.server
import socket
import socketserver
import threading


class DualStackHTTPServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    request_queue_size = 1024  # the default 5 drops SYNs under parallel load

    def handle_error(self, request, client_address):
        pass  # a client that resets its connection is not the server's problem

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def http_handler(name: str):
    body = f"{name}\n".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


class HoldHandler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(f"{self.server.name} {line.decode(errors='replace').strip()}\n".encode())
            self.wfile.flush()


class DualStackTCPServer(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def serve_udp(name: str, port: int):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    reply = f"{name}\n".encode()
    while True:
        _, peer = s.recvfrom(65535)
        s.sendto(reply, peer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--http-port", type=int, default=80)
    ap.add_argument("--udp-port", type=int, default=5353)
    ap.add_argument("--hold-port", type=int, default=7000)
    a = ap.parse_args()

    hold = DualStackTCPServer(("::", a.hold_port), HoldHandler)
    hold.name = a.name
    threading.Thread(target=hold.serve_forever, daemon=True).start()
    threading.Thread(target=serve_udp, args=(a.name, a.udp_port), daemon=True).start()
    DualStackHTTPServer(("::", a.http_port), http_handler(a.name)).serve_forever()


if __name__ == "__main__":
    main()
