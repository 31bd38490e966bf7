#!/usr/bin/env python3
"""How `tern serve` answers while clients hold half-sent requests open, for one or more
binaries side by side (for example tern before and after a change to its HTTP front).

For each binary and each count of stalled connections: start the server, open that many
connections that each send half a request and wait, then time /health requests and a short
completion (each on a fresh connection, as a monitor or a new user would), and count how many
/health requests one kept-alive connection gets answered per second. Binaries alternate
within each count so that drift in a shared machine hits all alike.

    bench/serve_stalled_clients.py --model models/tinystories/tinystories-bitnet.gguf \
        --stalled 0,64,1000 build-old/tern build/tern
"""
import argparse
import http.client
import json
import resource
import socket
import statistics
import subprocess
import sys
import time

# Each server gets a port of its own: connections the previous one closed linger in
# TIME_WAIT, which can keep a new listener from binding the same port.
PORTS = iter(range(8110, 8200))
PORT = None


def start_server(tern, model, extra):
    command = [tern, "serve", "-m", model, "--port", str(PORT), "--timeout", "30", "-t", "1"] + extra
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:
        if "listening on" in line:
            return server
    sys.exit(f"serve_stalled_clients: {tern} did not start")


def timed_request(method, path, body=None, timeout=15.0):
    """Seconds until the answer, or None when none came within the timeout."""
    start = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
        conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        response.read()
        conn.close()
        return time.monotonic() - start if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None


def keep_alive_rate(seconds=2.0):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
    n, start = 0, time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            conn.request("GET", "/health")
            conn.getresponse().read()
            n += 1
    except (OSError, http.client.HTTPException):
        pass
    conn.close()
    return n / (time.monotonic() - start)


def measure(tern, model, stalled_count, extra):
    global PORT
    PORT = next(PORTS)
    server = start_server(tern, model, extra)
    stalled = []
    try:
        for _ in range(stalled_count):
            s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pro")
            stalled.append(s)
        time.sleep(0.5)
        health = [timed_request("GET", "/health") for _ in range(3)]
        completion = [timed_request("POST", "/v1/completions",
                                    json.dumps({"prompt": "Once upon a time", "max_tokens": 2, "temperature": 0}))
                      for _ in range(2)]
        rate = keep_alive_rate()
    finally:
        for s in stalled:
            s.close()
        server.terminate()
        server.wait(timeout=60)

    def describe(times):
        answered = [t for t in times if t is not None]
        if not answered:
            return f"none of {len(times)} answered within 15 s"
        text = f"median {statistics.median(answered) * 1000:.1f} ms"
        return text if len(answered) == len(times) else f"{text} ({len(times) - len(answered)} of {len(times)} unanswered)"

    return describe(health), describe(completion), rate


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--model", required=True)
    parser.add_argument("--stalled", default="0,64,1000")
    parser.add_argument("--server-args", default="--parallel 4", help="extra flags for every server")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    extra = args.server_args.split()
    print("| binary | stalled connections | /health | 2-token completion | /health per s, one kept-alive connection |")
    print("|---|---:|---|---|---:|")
    for count in (int(c) for c in args.stalled.split(",")):
        for tern in args.binaries:
            # A per-client cap would refuse the stalled connections rather than hold them.
            flags = extra + (["--max-connections-per-client", "0"] if supports_cap(tern) else [])
            health, completion, rate = measure(tern, args.model, count, flags)
            print(f"| {tern} | {count} | {health} | {completion} | {rate:.0f} |", flush=True)


def supports_cap(tern):
    help_text = subprocess.run([tern, "serve", "--help"], capture_output=True, text=True).stdout
    return "--max-connections-per-client" in help_text


if __name__ == "__main__":
    main()
