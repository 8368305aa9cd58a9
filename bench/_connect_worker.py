"""Run by bench/connections.py inside the client instance: open new TCP connections to
ADDRESS:443 from THREADS threads for SECONDS, each a full exchange (connect, a who-probe, its
answer, close), and print what got through as JSON.
Usage: python _connect_worker.py ADDRESS SECONDS THREADS
"""

import json
import socket
import statistics
import struct
import sys
import threading
import time

WHO = b"vpclab-who bench\n"
LINGER_RESET = struct.pack("ii", 1, 0)


def main() -> None:
    address, seconds, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    done, failed, latencies = [0], [0], []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < deadline:
            began = time.monotonic()
            try:
                with socket.create_connection((address, 443), timeout=2) as connection:
                    connection.sendall(WHO)
                    answered = connection.recv(256)
                    # close with a reset: tens of thousands of client ports in TIME_WAIT
                    # would slow every later connect() of the run, not what is measured
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
            except OSError:
                answered = b""
            with lock:
                if answered:
                    done[0] += 1
                    latencies.append(time.monotonic() - began)
                else:
                    failed[0] += 1

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - began
    print(
        json.dumps(
            {
                "connections": done[0],
                "failed": failed[0],
                "per_second": done[0] / elapsed,
                "median_ms": 1000 * statistics.median(latencies) if latencies else None,
            }
        )
    )


if __name__ == "__main__":
    main()
