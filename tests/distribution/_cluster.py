"""Two worker processes of one `TF_CONFIG` cluster on the loopback interface, for the slow tests.

No side effect on import: the worker scripts import the test modules that import this one.
"""

import json
import os
import socket
import subprocess
import sys


def free_ports(n):
    """`n` free TCP ports on the loopback interface (for a `TF_CONFIG` cluster)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_two_workers(script, folder, env=None, timeout=600):
    """Runs `script WORKER_INDEX PORTS FOLDER` as two processes of one cluster; asserts both exit 0."""
    ports = json.dumps(free_ports(2))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", **(env or {})}
    workers = [
        subprocess.Popen(
            [sys.executable, script, str(i), ports, str(folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(2)
    ]
    logs = []
    try:
        for worker in workers:
            out, _ = worker.communicate(timeout=timeout)
            logs.append(out.decode()[-3000:])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert [w.returncode for w in workers] == [0, 0], "\n".join(logs)
