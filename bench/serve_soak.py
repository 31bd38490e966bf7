#!/usr/bin/env python3
"""Soak test of `tern serve` under mixed, partly hostile traffic (a benchmark, not a test).

Starts the server, then for --minutes runs --clients threads that each pick, at random:
streamed and whole completions, long prompts, streams cancelled after a few tokens,
malformed bodies and malformed HTTP, slow readers, and half-sent requests left to time out;
a probe reads /health once a second throughout. Reports, per kind of request, how many ran,
how many got an unexpected answer, and latency percentiles; and the server's resident memory
over time (sampled from /proc). Only the Python standard library is used.

    bench/serve_soak.py --tern build/tern --model /tmp/2b4t.gguf --minutes 20 \
        --server-args "--head q8_0 -t 2 --parallel 4 --ctx 1024"
"""
import argparse
import http.client
import json
import random
import shlex
import socket
import subprocess
import sys
import threading
import time


class Tally:
    """Counts and latencies per kind of request, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kinds = {}

    def record(self, kind, seconds=None, error=None, busy=False):
        with self.lock:
            entry = self.kinds.setdefault(kind, {"n": 0, "errors": 0, "busy": 0, "latencies": [], "first_error": None})
            entry["n"] += 1
            if busy:
                entry["busy"] += 1
            elif error is not None:
                entry["errors"] += 1
                entry["first_error"] = entry["first_error"] or error
            elif seconds is not None:
                entry["latencies"].append(seconds)


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Client:
    def __init__(self, port, tally, rng, long_prompt_tokens):
        self.port = port
        self.long_prompt_tokens = long_prompt_tokens
        self.tally = tally
        self.rng = rng

    def connection(self, timeout=120):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def post_json(self, path, body, timeout=120):
        conn = self.connection(timeout)
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def completion(self, kind, body):
        start = time.monotonic()
        try:
            status, data = self.post_json("/v1/completions", body)
        except (OSError, http.client.HTTPException) as e:
            return self.tally.record(kind, error=f"{type(e).__name__}: {e}")
        if status == 503:
            return self.tally.record(kind, busy=True)
        if status != 200:
            return self.tally.record(kind, error=f"HTTP {status}: {data[:200]!r}")
        if body.get("stream") and not data.rstrip().endswith(b"data: [DONE]"):
            return self.tally.record(kind, error="stream without [DONE]")
        self.tally.record(kind, time.monotonic() - start)

    def stream(self):
        self.completion("stream 32 tokens", {"prompt": "Once upon a time", "max_tokens": 32, "stream": True,
                                             "seed": self.rng.randrange(1 << 30)})

    def whole(self):
        start = time.monotonic()
        try:
            status, data = self.post_json("/v1/chat/completions", {
                "messages": [{"role": "user", "content": "Tell me a story."}], "max_tokens": 16})
        except (OSError, http.client.HTTPException) as e:
            return self.tally.record("chat 16 tokens", error=f"{type(e).__name__}: {e}")
        if status == 503:
            return self.tally.record("chat 16 tokens", busy=True)
        if status != 200 or "choices" not in json.loads(data):
            return self.tally.record("chat 16 tokens", error=f"HTTP {status}: {data[:200]!r}")
        self.tally.record("chat 16 tokens", time.monotonic() - start)

    def long_prompt(self):
        # Token ids rather than text, so that the length is the same whatever the tokenizer.
        ids = [100 + (i * 37) % 900 for i in range(self.long_prompt_tokens)]
        self.completion(f"{self.long_prompt_tokens}-token prompt, 4 tokens", {"prompt": ids, "max_tokens": 4})

    def cancelled_stream(self):
        start = time.monotonic()
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            body = json.dumps({"prompt": "Once upon a time", "max_tokens": 500, "stream": True})
            sock.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
            received = b""
            while received.count(b"data: ") < 3 and not received.startswith(b"HTTP/1.1 503"):
                more = sock.recv(4096)
                if not more:
                    break
                received += more
            sock.close()
        except OSError as e:
            return self.tally.record("stream cancelled after 3 events", error=f"{type(e).__name__}: {e}")
        if received.startswith(b"HTTP/1.1 503"):
            return self.tally.record("stream cancelled after 3 events", busy=True)
        if not received.startswith(b"HTTP/1.1 200"):
            return self.tally.record("stream cancelled after 3 events", error=f"{received[:100]!r}")
        self.tally.record("stream cancelled after 3 events", time.monotonic() - start)

    def malformed_body(self):
        start = time.monotonic()
        try:
            conn = self.connection(30)
            conn.request("POST", "/v1/completions", b'{"prompt": "unterminated', {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            return self.tally.record("malformed JSON -> 400", error=f"{type(e).__name__}: {e}")
        if response.status != 400:
            return self.tally.record("malformed JSON -> 400", error=f"HTTP {response.status}")
        self.tally.record("malformed JSON -> 400", time.monotonic() - start)

    def raw_expecting_400(self, kind, data, timeout):
        """Sends raw bytes and expects a 400 back (malformed HTTP, or a request left unfinished)."""
        start = time.monotonic()
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
            sock.sendall(data)
            reply = sock.recv(4096)
            sock.close()
        except OSError as e:
            return self.tally.record(kind, error=f"{type(e).__name__}: {e}")
        if not reply.startswith(b"HTTP/1.1 400"):
            return self.tally.record(kind, error=f"{reply[:100]!r}")
        self.tally.record(kind, time.monotonic() - start)

    def malformed_http(self):
        self.raw_expecting_400("malformed HTTP -> 400", b"BREW /pot HTCPCP/1.0\r\n\r\n", 30)

    def slow_reader(self):
        start = time.monotonic()
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(60)
            sock.connect(("127.0.0.1", self.port))
            body = json.dumps({"prompt": "Once upon a time", "max_tokens": 64, "stream": True})
            sock.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode())
            received = b""
            while True:
                more = sock.recv(64)   # a trickle, with pauses
                if not more:
                    break
                received += more
                time.sleep(0.01)
            sock.close()
        except OSError as e:
            return self.tally.record("slow reader, 64 tokens", error=f"{type(e).__name__}: {e}")
        if received.startswith(b"HTTP/1.1 503"):
            return self.tally.record("slow reader, 64 tokens", busy=True)
        if b"data: [DONE]" not in received:
            return self.tally.record("slow reader, 64 tokens", error=f"no [DONE]: {received[:100]!r}")
        self.tally.record("slow reader, 64 tokens", time.monotonic() - start)

    def half_sent(self, timeout_s):
        self.raw_expecting_400("half-sent, left to time out",
                               b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pro",
                               timeout_s + 10)


def health_probe(port, tally, stop):
    while not stop.is_set():
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                tally.record("/health probe", time.monotonic() - start)
            else:
                tally.record("/health probe", error=f"HTTP {response.status}")
        except (OSError, http.client.HTTPException) as e:
            tally.record("/health probe", error=f"{type(e).__name__}: {e}")
        stop.wait(1.0)


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_server(args):
    command = [args.tern, "serve", "-m", args.model, "--port", str(args.port), "--timeout", str(args.timeout),
               "--max-connections-per-client", "0"] + shlex.split(args.server_args)
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:
        sys.stderr.write(line)
        if "listening on" in line:
            return server, command
    sys.exit(f"serve_soak: the server did not start: {' '.join(command)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tern", default="build/tern")
    parser.add_argument("--model", required=True)
    parser.add_argument("--server-args", default="--parallel 4")
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--timeout", type=int, default=5, help="the server's --timeout (half-sent requests)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--long-prompt", type=int, default=400, help="tokens in the long prompts (ids 100-999)")
    args = parser.parse_args()

    server, command = start_server(args)
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    tally = Tally()
    stop = threading.Event()
    rss = [(0.0, resident_mib(server.pid))]
    started = time.monotonic()

    def client_loop(index):
        client = Client(args.port, tally, random.Random(args.seed * 1000 + index), args.long_prompt)
        actions = [(30, client.stream), (15, client.whole), (10, client.long_prompt), (10, client.cancelled_stream),
                   (8, client.malformed_body), (7, client.malformed_http), (8, client.slow_reader),
                   (4, lambda: client.half_sent(args.timeout))]
        weights = [w for w, _ in actions]
        while not stop.is_set():
            client.rng.choices(actions, weights)[0][1]()

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
    threads.append(threading.Thread(target=health_probe, args=(args.port, tally, stop)))
    for t in threads:
        t.start()
    try:
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(min(30.0, args.minutes * 60))
            rss.append((time.monotonic() - started, resident_mib(server.pid)))
            print(f"[{rss[-1][0] / 60:5.1f} min] RSS {rss[-1][1]:.1f} MiB", file=sys.stderr, flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join()
        rss.append((time.monotonic() - started, resident_mib(server.pid)))
        server.terminate()
        server.wait(timeout=60)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"\nserver: {' '.join(command)}\nmachine: {cpu}, {len(open('/proc/cpuinfo').read().split('processor')) - 1} "
          f"CPUs; {args.clients} client threads + a /health probe; {args.minutes:g} minutes\n")
    print("| kind | requests | 503 busy | unexpected | p50 s | p99 s | max s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, e in sorted(tally.kinds.items()):
        lat = e["latencies"]
        print(f"| {kind} | {e['n']} | {e['busy']} | {e['errors']} | {percentile(lat, 50):.3f} | "
              f"{percentile(lat, 99):.3f} | {max(lat) if lat else float('nan'):.3f} |")
    for kind, e in sorted(tally.kinds.items()):
        if e["first_error"]:
            print(f"first unexpected answer for {kind}: {e['first_error']}")
    print("\nRSS (MiB) by minute: " + ", ".join(f"{t / 60:.0f}: {m:.0f}" for t, m in rss))
    after_warmup = [m for t, m in rss if t >= 60] or [rss[-1][1]]
    print(f"RSS after the first minute: min {min(after_warmup):.1f}, max {max(after_warmup):.1f} MiB")
    print(f"server exit status after SIGTERM: {server.returncode}")


if __name__ == "__main__":
    main()
