import Foundation

/// An HTTP proxy in front of a test server that fails a share of requests the ways networks
/// and overloaded services do: 500/503 answers, connection resets (before and after the server
/// did the work), stalls longer than the client's timeout, and bodies cut short. Written in
/// Python (always installed with the test tools) and started like the other servers.
struct FaultProxy {
    struct Options {
        /// Share of requests that fail, 0…1.
        var rate = 0.0
        var seed = 1
        /// Fault kinds to draw from: "500", "503", "reset", "reset-after", "stall", "truncate".
        var kinds = ["500", "503", "reset", "reset-after", "stall", "truncate"]
        var stallSeconds = 4.0
        /// After this many successful uploads (POST/PUT) of packs, every request fails with 500.
        var failAllAfterPackUploads: Int?
        /// Answers every request with this status (e.g. 403), never reaching the server.
        var fixedStatus: Int?
        /// Logs forwarded requests too, as "ok <method> <path> <bytes sent> <bytes received>".
        var logAll = false
    }

    let server: ServerProcess
    let faultLog: URL

    init(upstreamPort: Int, options: Options) throws {
        let dir = try TempDir.make("cartae-proxy")
        let script = dir.appendingPathComponent("fault_proxy.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        faultLog = dir.appendingPathComponent("faults.log")
        _ = FileManager.default.createFile(atPath: faultLog.path, contents: nil)
        var arguments = ["--upstream", "\(upstreamPort)", "--rate", "\(options.rate)", "--seed", "\(options.seed)",
                         "--kinds", options.kinds.joined(separator: ","), "--stall", "\(options.stallSeconds)",
                         "--log", faultLog.path]
        if let count = options.failAllAfterPackUploads { arguments += ["--fail-after-pack-uploads", "\(count)"] }
        if let status = options.fixedStatus { arguments += ["--status", "\(status)"] }
        if options.logAll { arguments.append("--log-all") }
        server = try ServerProcess("python3", install: "apt-get install -y python3",
                                   arguments: { port in [script.path, "--port", "\(port)"] + arguments })
    }

    var port: Int { server.port }

    /// One line per injected fault: "<kind> <method> <path>".
    var faults: [String] { logLines.filter { !$0.hasPrefix("ok ") } }

    /// Every logged line, faults and (with `logAll`) forwarded requests.
    var logLines: [String] {
        ((try? String(contentsOf: faultLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: faultLog.deletingLastPathComponent())
    }

    static let script = #"""
import argparse, http.client, http.server, os, random, signal, socket, struct, sys, threading, time

# The test runner may start children with SIGTERM ignored; stopping must still be instant.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", type=int, required=True)
parser.add_argument("--rate", type=float, default=0.0)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--kinds", default="500")
parser.add_argument("--stall", type=float, default=4.0)
parser.add_argument("--log", required=True)
parser.add_argument("--fail-after-pack-uploads", type=int, default=None)
parser.add_argument("--status", type=int, default=None)
parser.add_argument("--log-all", action="store_true")
args = parser.parse_args()

lock = threading.Lock()
rng = random.Random(args.seed)
kinds = args.kinds.split(",")
pack_uploads = 0

def draw(method, path):
    with lock:
        if args.fail_after_pack_uploads is not None and pack_uploads >= args.fail_after_pack_uploads:
            return "500"
        if rng.random() < args.rate:
            return rng.choice(kinds)
    return None

def record(kind, method, path, extra=""):
    with lock:
        with open(args.log, "a") as log:
            log.write("%s %s %s%s\n" % (kind, method, path, extra))

class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reset(self):
        # SO_LINGER 0 makes close() send a RST, as a dropped connection does.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def answer(self, status, body=b"injected failure\n"):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        global pack_uploads
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if args.status is not None:
            record(str(args.status), self.command, self.path)
            return self.answer(args.status, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
        kind = draw(self.command, self.path)
        if kind in ("500", "503"):
            record(kind, self.command, self.path)
            return self.answer(int(kind))
        if kind == "reset":
            record(kind, self.command, self.path)
            return self.reset()
        if kind == "stall":
            record(kind, self.command, self.path)
            time.sleep(args.stall)
            return self.reset()
        upstream = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        upstream.request(self.command, self.path, body=body if length or self.command in ("POST", "PUT") else None,
                         headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        if self.command in ("POST", "PUT") and "/data/" in self.path and 200 <= response.status < 300:
            with lock:
                pack_uploads += 1
        if kind == "reset-after":
            record(kind, self.command, self.path)
            return self.reset()
        cut = kind == "truncate" and self.command == "GET" and len(data) > 1
        if cut:
            record(kind, self.command, self.path)
        elif args.log_all:
            record("ok", self.command, self.path, " %d %d" % (len(body), 0 if self.command == "HEAD" else len(data)))
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data[: len(data) // 2] if cut else data)
        if cut:
            self.wfile.flush()
            self.reset()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_any

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

Server(("127.0.0.1", args.port), Proxy).serve_forever()
"""#
}
