"""Load and abuse test of `make run`'s server (chalicelib/serve/, waitress)
side by side with `chalice local`, in the same run, on 127.0.0.1 only.
Not a test: it prints figures (docs/operations.md quotes them).

    make load-test
    .venv/bin/python -m scripts.perf.load_test [--seconds 8] [--only serve|chalice]
        [--levels 1,4,16,64] [--phases keepalive,levels,impatient,burst,slow,big,sigterm]

Per server, in this order:
  1. time to first answer after start, and the first verification's latency;
     GET / on a reused connection against a new one (keep-alive penalty);
  2. closed-loop clients at concurrency 1, 4, 16, 64 for --seconds each:
     verifications/s, p50/p95/p99 of the answered, connection errors, 503s
     (a client that gets 503 waits its Retry-After, capped at 1 s);
  3. 32 clients that give up after 5 s, then how long a new verification
     waits (work left for clients who left); a 64-client burst;
  4. 50 slow connections (headers at 1 byte/s) with 4 normal clients alongside,
     for --slow-seconds (70: past the server's 60 s receive timeout);
  5. four 200 MB bodies at once (declared Content-Length), peak RSS over idle;
  6. SIGTERM during a 16-client burst: verifications completed or lost.

Every request is a real verification (a synthetic ID card and a 720p selfie
of the same person, local engine). Loops are bounded by time and counts.
The machine is shared, so absolute figures are noisy: compare the two
columns of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLIENT_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def verification_body() -> bytes:
    import base64

    from skimage import data

    from scripts.eval import face_samples as fs

    astronaut = Image.fromarray(data.astronaut())
    card = fs.jpeg_bytes(fs.id_card(fs.portrait_crop(astronaut, fs.ASTRONAUT_FACE)), 85)
    selfie = Image.new("RGB", (1280, 720), (90, 90, 90))
    selfie.paste(astronaut.resize((720, 720)), (280, 0))
    return json.dumps({"dl": base64.b64encode(card).decode(),
                       "selfie": base64.b64encode(fs.jpeg_bytes(selfie)).decode()}).encode()


BODY = b""


# --- servers ---------------------------------------------------------------------

class Target:
    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.log = open(f"/tmp/load_test_{name}.log", "wb")  # noqa: SIM115
        env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYTHONUNBUFFERED": "1"}
        if name == "serve":  # what `make run` runs
            command = [sys.executable, "-m", "chalicelib.serve", "--port", str(self.port)]
        else:
            command = [str(BIN / "chalice"), "local", "--stage", "local", "--host",
                       "127.0.0.1", "--port", str(self.port), "--no-autoreload"]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def rss_mib(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def post(port: int, body: bytes = b"") -> tuple[int | None, float, dict[str, str]]:
    """(status or None for a connection error, seconds, headers)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
    try:
        conn.request("POST", "/ips", body=body or BODY,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - start, dict(response.getheaders())
    except (OSError, http.client.HTTPException):
        return None, time.perf_counter() - start, {}
    finally:
        conn.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(results: list[tuple[int | None, float, dict[str, str]]], elapsed: float) -> dict:
    ok = [s for st, s, _ in results if st == 200]
    busy = [h for st, _, h in results if st == 503]
    return {"ok": len(ok), "per_s": len(ok) / elapsed if elapsed else 0.0,
            # latency of the verifications served (a 503 is answered at once)
            "p50": pct(ok, 50), "p95": pct(ok, 95), "p99": pct(ok, 99),
            "conn_errors": sum(1 for st, _, _ in results if st is None),
            "s503": len(busy),
            "s503_no_retry_after": sum(1 for h in busy if "Retry-After" not in h),
            "other": sum(1 for st, _, _ in results if st not in (None, 200, 503))}


# --- measurements -------------------------------------------------------------------

def first_answer(target: Target) -> dict:
    deadline = time.monotonic() + 120
    first_http = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", target.port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(12).startswith(b"HTTP/1."):
                    first_http = time.perf_counter() - target.started
                    break
        except OSError:
            time.sleep(0.05)
    if target.name == "serve":  # readiness: models preloaded
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
            conn.request("GET", "/health/ready")
            if conn.getresponse().status == 200:
                break
            conn.close()
            time.sleep(0.05)
    ready = time.perf_counter() - target.started
    status, first_s, _ = post(target.port)
    status2, second_s, _ = post(target.port)
    return {"first_http_s": first_http, "ready_s": ready, "first_verification_s": first_s,
            "second_verification_s": second_s, "statuses": (status, status2)}


def keepalive(port: int, count: int = 50) -> dict:
    """Median time of GET / (the cached page) on one reused connection and on
    a new connection each time (the issue measured +40 ms on reuse)."""

    def timed(conn: http.client.HTTPConnection) -> float:
        start = time.perf_counter()
        conn.request("GET", "/")
        conn.getresponse().read()
        return time.perf_counter() - start

    reused = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
    timed(reused)
    same = [timed(reused) for _ in range(count)]
    reused.close()
    fresh = []
    for _ in range(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
        fresh.append(timed(conn))
        conn.close()
    return {"reused_ms": 1000 * pct(same, 50), "new_ms": 1000 * pct(fresh, 50)}


def closed_loop(port: int, clients: int, seconds: float) -> dict:
    results: list[tuple[int | None, float, dict[str, str]]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            result = post(port)
            with lock:
                results.append(result)
            if result[0] == 503:
                time.sleep(min(1.0, float(result[2].get("Retry-After", "1"))))
            elif result[0] is None:
                time.sleep(0.1)

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summary(results, time.perf_counter() - start)


def impatient(port: int, seconds: float, clients: int = 32, timeout_s: float = 5.0) -> dict:
    """32 clients that give up after 5 s, for `seconds`; then one patient
    verification: its latency is the work left over for clients who left."""
    global CLIENT_TIMEOUT_S
    saved, CLIENT_TIMEOUT_S = CLIENT_TIMEOUT_S, timeout_s
    try:
        out = closed_loop(port, clients, seconds)
    finally:
        CLIENT_TIMEOUT_S = saved
    start = time.perf_counter()
    status, _, _ = post(port)
    while status == 503 and time.perf_counter() - start < 120:
        time.sleep(0.2)
        status, _, _ = post(port)
    return {**out, "gave_up": out["conn_errors"], "next_status": status,
            "next_answer_s": time.perf_counter() - start}


def burst(port: int, clients: int = 64) -> dict:
    barrier = threading.Barrier(clients)

    def one(_: int) -> tuple[int | None, float, dict[str, str]]:
        barrier.wait()
        return post(port)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, range(clients)))
    return summary(results, time.perf_counter() - start)


def slow_clients(port: int, seconds: float, slow: int = 50) -> dict:
    """50 connections sending a request header at 1 byte/s while 4 normal
    clients verify; how many slow ones the server closed, and the normal figures."""
    socks = []
    for _ in range(slow):
        with contextlib.suppress(OSError):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    header = b"POST /ips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    closed = [False] * len(socks)
    done = threading.Event()

    def trickle() -> None:
        i = 0
        while not done.is_set():
            for n, sock in enumerate(socks):
                if closed[n]:
                    continue
                try:
                    sock.sendall(header[i % len(header): i % len(header) + 1])
                except OSError:
                    closed[n] = True
            i += 1
            done.wait(1.0)

    thread = threading.Thread(target=trickle)
    thread.start()
    normal = closed_loop(port, 4, seconds)
    done.set()
    thread.join()
    for sock in socks:
        sock.close()
    return {**normal, "slow_opened": len(socks), "slow_closed_by_server": sum(closed)}


def big_bodies(target: Target, count: int = 4, size: int = 200 * 1024 * 1024) -> dict:
    idle = target.rss_mib()
    peak = idle
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, target.rss_mib())
            stop.wait(0.02)

    def send(_: int) -> str:
        chunk = b"A" * (1024 * 1024)
        try:
            with socket.create_connection(("127.0.0.1", target.port), timeout=120) as sock:
                sock.sendall(b"POST /ips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                             b"\r\nContent-Length: %d\r\n\r\n" % size)
                try:
                    for _ in range(size // len(chunk)):
                        sock.sendall(chunk)
                except OSError:
                    pass
                data = sock.recv(64)
                return data.split(b"\r\n", 1)[0].decode("latin-1") or "closed"
        except OSError as exc:
            return type(exc).__name__

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(send, range(count)))
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    return {"idle_rss_mib": idle, "peak_rss_mib": peak, "delta_mib": peak - idle,
            "answers": answers, "seconds": elapsed}


def sigterm_burst(target: Target, clients: int = 16) -> dict:
    """16 verifications at once; SIGTERM once the server is computing them."""
    results: list[tuple[int | None, float, dict[str, str]]] = []
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(post, target.port) for _ in range(clients)]
        time.sleep(0.5)  # a script, not a test: let the burst arrive and start
        target.process.send_signal(signal.SIGTERM)
        sent = time.perf_counter()
        results = [f.result() for f in futures]
    target.process.wait(timeout=120)
    return {"completed_200": sum(1 for st, _, _ in results if st == 200),
            "refused_503": sum(1 for st, _, _ in results if st == 503),
            "lost": sum(1 for st, _, _ in results if st is None),
            "other": sum(1 for st, _, _ in results if st not in (None, 200, 503)),
            "exit_code": target.process.returncode,
            "exit_after_s": time.perf_counter() - sent}


# --- the run ----------------------------------------------------------------------------

def run(name: str, args: argparse.Namespace) -> dict:
    out: dict = {}
    target = Target(name)
    phases = args.phases.split(",")
    try:
        out["start"] = first_answer(target)
        print(f"[{name}] start {out['start']}", flush=True)
        if "keepalive" in phases:
            out["keepalive"] = keepalive(target.port)
            print(f"[{name}] keepalive {out['keepalive']}", flush=True)
        for clients in [int(c) for c in args.levels.split(",")] if "levels" in phases else []:
            out[f"c{clients}"] = closed_loop(target.port, clients, args.seconds)
            print(f"[{name}] c={clients} {out[f'c{clients}']}", flush=True)
        if "impatient" in phases:
            out["impatient"] = impatient(target.port, args.seconds)
            print(f"[{name}] impatient {out['impatient']}", flush=True)
        if "burst" in phases:
            out["burst"] = burst(target.port)
            print(f"[{name}] burst {out['burst']}", flush=True)
        if "slow" in phases:
            out["slow"] = slow_clients(target.port, args.slow_seconds)
            print(f"[{name}] slow {out['slow']}", flush=True)
        if "big" in phases:
            out["big"] = big_bodies(target)
            print(f"[{name}] big {out['big']}", flush=True)
        if "sigterm" in phases:
            out["sigterm"] = sigterm_burst(target)
            print(f"[{name}] sigterm {out['sigterm']}", flush=True)
    finally:
        target.stop()
    return out


def table(results: dict) -> None:
    names = list(results)
    print("\n| measure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))

    def row(label: str, fn) -> None:
        cells = []
        for n in names:
            try:
                cells.append(fn(results[n]))
            except (KeyError, TypeError, ValueError):
                cells.append("-")
        print(f"| {label} | " + " | ".join(cells) + " |")

    row("first HTTP answer after start (s)", lambda r: f"{r['start']['first_http_s']:.2f}")
    row("ready (models loaded) after start (s)", lambda r: f"{r['start']['ready_s']:.2f}")
    row("first verification (s)", lambda r: f"{r['start']['first_verification_s']:.2f}")
    row("second verification (s)", lambda r: f"{r['start']['second_verification_s']:.2f}")
    row("GET / median, reused / new connection (ms)",
        lambda r: f"{r['keepalive']['reused_ms']:.1f} / {r['keepalive']['new_ms']:.1f}")
    for c in sorted({int(k[1:]) for r in results.values() for k in r if k[1:].isdigit()}):
        row(f"c={c}: verifications/s", lambda r, c=c: f"{r[f'c{c}']['per_s']:.2f}")
        row(f"c={c}: served p50 / p95 / p99 (s)", lambda r, c=c: "{p50:.2f} / {p95:.2f} / {p99:.2f}"
            .format(**r[f"c{c}"]))
        row(f"c={c}: conn errors / 503s (no Retry-After)",
            lambda r, c=c: "{conn_errors} / {s503} ({s503_no_retry_after})".format(**r[f"c{c}"]))
    row("32 clients giving up after 5 s: gave up / 200 / 503",
        lambda r: "{gave_up} / {ok} / {s503}".format(**r["impatient"]))
    row("... then one verification answered after (s)",
        lambda r: f"{r['impatient']['next_answer_s']:.2f} ({r['impatient']['next_status']})")
    row("burst 64: 200 / 503 / conn errors",
        lambda r: "{ok} / {s503} / {conn_errors}".format(**r["burst"]))
    row("burst 64: p95 of answers (s)", lambda r: f"{r['burst']['p95']:.2f}")
    row("50 slow + 4 normal: normal verifications/s",
        lambda r: f"{r['slow']['per_s']:.2f}")
    row("50 slow + 4 normal: normal p95 (s), conn errors",
        lambda r: f"{r['slow']['p95']:.2f}, {r['slow']['conn_errors']}")
    row("50 slow: closed by the server", lambda r: f"{r['slow']['slow_closed_by_server']}")
    row("4 x 200 MB: idle -> peak RSS (MiB)",
        lambda r: f"{r['big']['idle_rss_mib']:.0f} -> {r['big']['peak_rss_mib']:.0f} "
                  f"(+{r['big']['delta_mib']:.0f})")
    row("4 x 200 MB: answers", lambda r: ", ".join(sorted(set(r["big"]["answers"]))))
    row("SIGTERM in a 16 burst: 200 / 503 / lost",
        lambda r: "{completed_200} / {refused_503} / {lost}".format(**r["sigterm"]))
    row("SIGTERM: exit code, exit after (s)",
        lambda r: f"{r['sigterm']['exit_code']}, {r['sigterm']['exit_after_s']:.2f}")


def main(argv: list[str] | None = None) -> int:
    global BODY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--only", choices=["serve", "chalice"])
    parser.add_argument("--levels", default="1,4,16,64", help="client counts, e.g. 1,4")
    parser.add_argument("--phases",
                        default="keepalive,levels,impatient,burst,slow,big,sigterm")
    parser.add_argument("--slow-seconds", type=float, default=70.0,
                        help="slow-client phase: longer than IPS_RECEIVE_TIMEOUT_S (60)")
    args = parser.parse_args(argv)
    BODY = verification_body()
    print(f"body {len(BODY)} bytes; cpus {os.cpu_count()}; load {os.getloadavg()}", flush=True)
    results = {}
    for name in ("serve", "chalice"):
        if args.only in (None, name):
            results[name] = run(name, args)
    table({("make run (waitress)" if k == "serve" else "chalice local"): v
           for k, v in results.items()})
    print(f"\nload average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
