#!/usr/bin/env python3
"""Instructions a `qualify serve` spends per authenticated GET, counted by callgrind.

Unlike requests per second, the count does not move with the machine's other load: the same
binary, filter and requests give the same number within a fraction of a percent, so a change
of a few percent in what a request costs shows (BENCHMARKS.md, "One line per request, written
for the purpose"). It counts user-space instructions only: system calls and waiting are not in it.

    python3 crates/qualify-harness/tools/instructions_per_get.py target/release/qualify
    python3 crates/qualify-harness/tools/instructions_per_get.py target/release/qualify \
        --rust-log 'warn,qualify_server=info,qualify_server::http=warn'

Needs valgrind. Starts the server under callgrind on a throw-away SQLite database with `--dev`,
makes a customer, warms up with 200 GETs of its qualifications, zeroes the counters, sends
--requests more over one keep-alive connection, and divides the instructions counted by them.
With --history the customer first gets the history `qualify-bench reads` gives its customers
(Education denied then in review again, StateOwnedEntity approved), so the count includes
rendering three requests; without it the customer has none.
"""

import argparse
import glob
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def give_history(qualify, server, customer):
    """Education denied, Education in review again, StateOwnedEntity approved, made with the
    CLI as a partner and a reviewer would."""
    def run(*words):
        return subprocess.run([qualify, *words, "--server", server, "--output", "json"],
                              capture_output=True, text=True, check=True).stdout

    def submit(qualification, *extra):
        run("qualifications", "submit", customer, "--dev-identity", "partner-a",
            "--qualification", qualification, *extra)

    def decide(verb, *extra):
        pending = json.loads(run("review", "list", "--dev-identity", "operator",
                                 "--status", "InReview"))
        (request,) = [r for r in pending if r["customerId"] == customer]
        run("review", verb, request["id"], "--dev-identity", "operator", *extra)

    submit("Education", "--segment", "K12")
    decide("deny", "--reason", "Not an Education Customer")
    submit("StateOwnedEntity")
    decide("approve")
    submit("Education", "--segment", "K12")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qualify", help="the qualify binary")
    parser.add_argument(
        "--rust-log",
        help="RUST_LOG for the server (default: unset, so it logs as a user's does)",
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--history", action="store_true",
                        help="give the customer three requests, one of them denied")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="qualify-callgrind-")
    out = os.path.join(work, "callgrind.out")
    env = dict(os.environ)
    env.pop("RUST_LOG", None)
    if args.rust_log:
        env["RUST_LOG"] = args.rust_log
    base = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", args.qualify,
         "serve", "--dev", "--database", f"sqlite://{work}/q.db", "--listen", base],
        env=env, stdout=subprocess.DEVNULL, stderr=open(out + ".log", "w"),
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                probe = http.client.HTTPConnection(base, timeout=60)
                probe.request("GET", "/healthz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(f"the server did not start; see {out}.log")
            time.sleep(0.5)
        token = subprocess.run(
            [args.qualify, "token", "--server", f"http://{base}", "--dev-identity", "partner-a"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection = http.client.HTTPConnection(base, timeout=300)
        connection.request(
            "POST", "/v1/customers", headers=headers,
            body=json.dumps({"companyProfile": {"domain": "callgrind.onmicrosoft.com"},
                             "billingProfile": {"companyName": "Callgrind"}}),
        )
        created = connection.getresponse()
        customer = json.loads(created.read())["id"]
        path = f"/v1/customers/{customer}/qualifications"
        if args.history:
            give_history(args.qualify, f"http://{base}", customer)

        def get():
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                sys.exit(f"GET answered {answer.status}")

        for _ in range(200):
            get()
        subprocess.run(["callgrind_control", "--zero", str(server.pid)], check=True,
                       capture_output=True)
        for _ in range(args.requests):
            get()
        subprocess.run(["callgrind_control", "--dump", str(server.pid)], check=True,
                       capture_output=True)
    finally:
        server.terminate()
        server.wait()
    # The dump holds what was counted since the zeroing: the GETs alone.
    total = 0
    for path in glob.glob(out + ".*"):
        text = open(path, errors="replace").read()
        summary = re.search(r"^summary: (\d+)", text, re.M)
        if summary and "Trigger: dump" in text:
            total += int(summary.group(1))
    if total == 0:
        sys.exit(f"callgrind wrote no dump; see {out}.log")
    print(f"{total / args.requests:.0f} instructions per GET "
          f"(RUST_LOG={args.rust_log or 'unset'}, {args.requests} GETs)")


if __name__ == "__main__":
    main()
